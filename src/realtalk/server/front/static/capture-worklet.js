// Microphone capture for the realtalk playground: hands each block of mono samples to the page.
class Capture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input[0]) this.port.postMessage(input[0].slice(0));
    return true;
  }
}
registerProcessor("realtalk-capture", Capture);
