"""The local server's asyncio front: the HTTP + WebSocket app, the connection worker, the CLI."""
