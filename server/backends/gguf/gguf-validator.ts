/**
 * Run as a child process: reads a GGUF file's vocabulary with llama.cpp and exits 0. Some damaged files make
 * llama.cpp abort (GGML_ASSERT) instead of throwing; that kills this process, never the server.
 */
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: gguf-validator <model.gguf>\n");
  process.exit(2);
}
try {
  const llama = await getLlama({
    gpu: false,
    build: "never",
    maxThreads: 1,
    logLevel: LlamaLogLevel.error,
    logger: (_level, message) => process.stderr.write(`${message.trim()}\n`),
  });
  const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  model.tokenize("validation sample: Hello, world! 123");
  await model.dispose();
  process.exit(0);
} catch (error) {
  // llama.cpp's log lines (the actual cause) reach the logger after the rejection.
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
