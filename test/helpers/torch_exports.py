"""Builds small models the way Hugging Face exports them, with PyTorch alone (Debian's python3-torch), for tests.

A BERT encoder written out in plain torch (same layers, names and maths as transformers' BertModel), random weights
from a fixed seed, exported with torch.onnx: an optimum-layout sequence classifier (input_ids, attention_mask,
token_type_ids -> logits, config.json with id2label), the same as a multi-label classifier (problem_type
multi_label_classification) and a sentence-transformers embedder (-> last_hidden_state,
modules.json, 1_Pooling). The project's own writers take no part, so the server is tested on files made elsewhere.

usage: python3 torch_exports.py <out_dir> <vocab_size>
"""
import json
import math
import os
import sys

import torch
from torch import nn

HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 32, 2, 4, 64, 64


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.attention_output, self.attention_norm = nn.Linear(HIDDEN, HIDDEN), nn.LayerNorm(HIDDEN, eps=1e-12)
        self.intermediate, self.output, self.output_norm = nn.Linear(HIDDEN, INTERMEDIATE), nn.Linear(INTERMEDIATE, HIDDEN), nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, bias):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, HEADS, HIDDEN // HEADS).transpose(1, 2)
        scores = split(self.query(x)) @ split(self.key(x)).transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias
        context = (scores.softmax(-1) @ split(self.value(x))).transpose(1, 2).reshape(b, t, HIDDEN)
        x = self.attention_norm(x + self.attention_output(context))
        return self.output_norm(x + self.output(nn.functional.gelu(self.intermediate(x))))


class Encoder(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.words, self.positions, self.types = nn.Embedding(vocab, HIDDEN), nn.Embedding(POSITIONS, HIDDEN), nn.Embedding(2, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.norm(self.words(input_ids) + self.positions(positions) + self.types(token_type_ids))
        bias = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x


class Classifier(nn.Module):
    def __init__(self, vocab, labels):
        super().__init__()
        self.encoder, self.pooler, self.head = Encoder(vocab), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(input_ids, attention_mask, token_type_ids)
        return self.head(torch.tanh(self.pooler(hidden[:, 0])))


def export(model, path, output):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ids = torch.tensor([[2, 10, 11, 3]])
    axes = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    axes[output] = {0: "batch"} if output == "logits" else {0: "batch", 1: "sequence"}
    torch.onnx.export(model.eval(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), path, input_names=list(axes)[:3], output_names=[output], dynamic_axes=axes, opset_version=14)


def config(architecture, vocab, extra):
    return {"architectures": [architecture], "model_type": "bert", "vocab_size": vocab, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE, "max_position_embeddings": POSITIONS, "type_vocab_size": 2, **extra}


def main():
    out, vocab = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    labels = ["negative", "neutral", "positive"]
    classifier = Classifier(vocab, len(labels))
    export(classifier, os.path.join(out, "classifier", "model.onnx"), "logits")
    with open(os.path.join(out, "classifier", "config.json"), "w") as f:
        json.dump(config("BertForSequenceClassification", vocab, {"id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}}), f)
    tags = ["billing", "outage", "feature"]
    tagger = Classifier(vocab, len(tags))
    export(tagger, os.path.join(out, "tagger", "model.onnx"), "logits")
    with open(os.path.join(out, "tagger", "config.json"), "w") as f:
        json.dump(config("BertForSequenceClassification", vocab, {"id2label": dict(enumerate(tags)), "label2id": {l: i for i, l in enumerate(tags)},
                                                                "problem_type": "multi_label_classification"}), f)
    encoder = Encoder(vocab)
    export(encoder, os.path.join(out, "embedder", "onnx", "model.onnx"), "last_hidden_state")
    with open(os.path.join(out, "embedder", "config.json"), "w") as f:
        json.dump(config("BertModel", vocab, {}), f)
    with open(os.path.join(out, "embedder", "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}], f)
    os.makedirs(os.path.join(out, "embedder", "1_Pooling"), exist_ok=True)
    with open(os.path.join(out, "embedder", "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": HIDDEN, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, f)


if __name__ == "__main__":
    main()
