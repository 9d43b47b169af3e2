#!/usr/bin/env python3
"""TensorFlow's own TFLite interpreter for `npm run bench -- tflite` (optional second runtime).

LiteRT.js, the runtime the bench always uses, has no int8 input/output tensors; TensorFlow's
`tf.lite.Interpreter` (pip `tensorflow-cpu` or `ai-edge-litert`) runs every variant. Usage:
  tflite_interpreter.py IMAGES.f32 LABELS.u8 N H W C MODEL.tflite [MODEL.tflite ...]
IMAGES.f32: N float32 images NHWC (the student's input scale); LABELS.u8: N labels. For an int8
input the images are quantized with the file's own input scale and zero point (round half away
from zero, as TFLite's QUANTIZE), so the file's parameters are what is tested. Prints one JSON
object: {"runtime": "...", "accuracy": {MODEL: top-1}}.
"""
import json
import sys

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter
    RUNTIME = "ai_edge_litert"
except ImportError:
    import tensorflow as tf
    Interpreter = tf.lite.Interpreter
    RUNTIME = "tensorflow " + tf.__version__ + " tf.lite.Interpreter"


def accuracy(path, images, labels):
    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    scale, zero_point = inp["quantization"]
    correct = 0
    for i in range(images.shape[0]):
        x = images[i : i + 1]
        if inp["dtype"] == np.int8:
            q = np.trunc(x / scale + np.copysign(0.5, x / scale)) + zero_point
            x = np.clip(q, -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        # argmax of int8 logits = argmax of their dequantized values (a positive scale).
        if int(np.argmax(interpreter.get_tensor(out["index"])[0])) == int(labels[i]):
            correct += 1
    return correct / images.shape[0]


def main():
    images_file, labels_file, n, h, w, c, *models = sys.argv[1:]
    n, h, w, c = int(n), int(h), int(w), int(c)
    images = np.fromfile(images_file, dtype=np.float32).reshape(n, h, w, c)
    labels = np.fromfile(labels_file, dtype=np.uint8)
    print(json.dumps({"runtime": RUNTIME, "accuracy": {m: accuracy(m, images, labels) for m in models}}))


if __name__ == "__main__":
    main()
