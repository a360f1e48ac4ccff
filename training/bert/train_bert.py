#!/usr/bin/python3
"""Trains a small BERT-style encoder classifier from scratch and exports it as Hugging Face optimum does.

Input: the JSON written by `specialist train --arch bert` (token ids already made by the model folder's own
WordPiece tokenizer, [CLS] ... [SEP], as the server encodes them). Output, in OUT_DIR: model.onnx with inputs
input_ids, attention_mask, token_type_ids (int64, dynamic batch and sequence) and output logits, the graph
ORTModelForSequenceClassification exports for a BertForSequenceClassification; reference.json with PyTorch's
logits for the check inputs, which the export is compared with through ONNX Runtime.

The layers are transformers' BERT: embeddings (word + position + segment, LayerNorm), post-norm self-attention and
GELU feed-forward blocks, a tanh pooler over [CLS], a linear classifier.

Run with Debian's Python (apt-get install python3-torch): /usr/bin/python3 training/bert/train_bert.py IN OUT_DIR
"""
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Layer(nn.Module):
    def __init__(self, s):
        super().__init__()
        h, i = s["hidden"], s["intermediate"]
        self.heads = s["heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attention_output, self.attention_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.intermediate, self.output, self.output_norm = nn.Linear(h, i), nn.Linear(i, h), nn.LayerNorm(h, eps=1e-12)
        self.dropout = nn.Dropout(s["dropout"])

    def forward(self, x, bias):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)
        scores = split(self.query(x)) @ split(self.key(x)).transpose(-1, -2) / math.sqrt(h // self.heads) + bias
        context = (self.dropout(scores.softmax(-1)) @ split(self.value(x))).transpose(1, 2).reshape(b, t, h)
        x = self.attention_norm(x + self.dropout(self.attention_output(context)))
        return self.output_norm(x + self.dropout(self.output(F.gelu(self.intermediate(x)))))


class Classifier(nn.Module):
    def __init__(self, s, labels):
        super().__init__()
        h = s["hidden"]
        self.words, self.positions, self.types = nn.Embedding(s["vocab"], h), nn.Embedding(s["positions"], h), nn.Embedding(2, h)
        self.norm, self.dropout = nn.LayerNorm(h, eps=1e-12), nn.Dropout(s["dropout"])
        self.layers = nn.ModuleList([Layer(s) for _ in range(s["layers"])])
        self.pooler, self.head = nn.Linear(h, h), nn.Linear(h, labels)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(0.0, 0.02)
            if isinstance(module, nn.Linear):
                module.bias.data.zero_()

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.dropout(self.norm(self.words(input_ids) + self.positions(positions) + self.types(token_type_ids)))
        # Padding is masked out of attention as transformers does it: a large negative bias before the softmax.
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return self.head(self.dropout(torch.tanh(self.pooler(x[:, 0]))))


def padded(rows):
    t = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), t, dtype=torch.long)
    mask = torch.zeros(len(rows), t, dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
    return ids, mask, torch.zeros_like(ids)


def batches(examples, size, rng):
    """Examples of similar length together (less padding), batches in random order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def evaluate(model, examples):
    model.eval()
    correct, loss, n = 0, 0.0, 0
    with torch.no_grad():
        for idx in batches(examples, 64, random.Random(0)):
            z = model(*padded([examples[i][0] for i in idx]))
            y = torch.tensor([examples[i][1] for i in idx])
            loss += F.cross_entropy(z, y, reduction="sum").item()
            correct += (z.argmax(-1) == y).sum().item()
            n += len(idx)
    model.train()
    return loss / n, correct / n


def export(model, out):
    model.eval()
    ids = torch.tensor([[2, 10, 11, 3]])
    axes = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    axes["logits"] = {0: "batch"}
    torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), os.path.join(out, "model.onnx"),
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"], dynamic_axes=axes, opset_version=14)


def main():
    data = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    s, hp = data["shape"], data["training"]
    torch.manual_seed(hp["seed"])
    torch.set_num_threads(hp.get("threads", 1))
    rng = random.Random(hp["seed"])
    train, val = data["train"], data["validation"]
    model = Classifier(s, len(data["labels"]))
    opt = torch.optim.AdamW(model.parameters(), lr=hp["learningRate"], weight_decay=hp["weightDecay"])
    steps = hp["epochs"] * math.ceil(len(train) / hp["batchSize"])
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warmup) * max(0.0, 1 - i / steps))
    best, best_state, started, stale = float("inf"), None, time.time(), 0
    for epoch in range(hp["epochs"]):
        for idx in batches(train, hp["batchSize"], rng):
            z = model(*padded([train[i][0] for i in idx]))
            loss = F.cross_entropy(z, torch.tensor([train[i][1] for i in idx]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        vloss, vacc = evaluate(model, val)
        print(json.dumps({"epoch": epoch + 1, "validationLoss": vloss, "validationAccuracy": vacc, "seconds": time.time() - started}), flush=True)
        if vloss < best:
            best, best_state, stale = vloss, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            stale += 1
            if stale >= hp["patience"]:
                break
    model.load_state_dict(best_state)
    export(model, out)
    with torch.no_grad():
        reference = [model(*padded([ids]))[0].tolist() for ids in data["check"]]
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)
    parameters = sum(p.numel() for p in model.parameters())
    print(json.dumps({"done": True, "bestValidationLoss": best, "parameters": parameters, "seconds": time.time() - started}), flush=True)


if __name__ == "__main__":
    main()
