"""The local server's pure core: one :class:`ServerSession` per connection (client JSON and the
time in; server JSON, closes and engine work requests out), its turns, responses, items,
timings and client secrets. No asyncio, no sockets: the front (:mod:`realtalk.server.front`)
moves the text and runs the work."""
