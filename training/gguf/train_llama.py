#!/usr/bin/python3
"""Trains a small llama-architecture classifier for the GGUF specialist (the one training step that needs autograd).

Input: the JSON written by `specialist train-gguf` (token ids already made by llama.cpp's own tokenizer). Output:
float32 weights in the tensor order of training/gguf/llama-gguf.ts, which writes the GGUF file. The forward pass
is the one llama.cpp computes: RMSNorm x weight, rotary embedding on adjacent pairs (2i, 2i+1), causal attention
scaled by 1/sqrt(head_dim), SwiGLU feed-forward, final RMSNorm, output projection.

Run with Debian's Python (apt-get install python3-torch): /usr/bin/python3 training/gguf/train_llama.py IN OUT
"""
import json
import math
import random
import sys
import time

import torch
import torch.nn.functional as F


class Llama(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        d, f, v = s["dim"], s["ffn"], s["vocab"]
        self.embed = torch.nn.Parameter(torch.randn(v, d) * 0.02)
        self.layers = torch.nn.ModuleList()
        for _ in range(s["layers"]):
            layer = torch.nn.Module()
            layer.attn_norm = torch.nn.Parameter(torch.ones(d))
            layer.q = torch.nn.Linear(d, d, bias=False)
            layer.k = torch.nn.Linear(d, d, bias=False)
            layer.v = torch.nn.Linear(d, d, bias=False)
            layer.o = torch.nn.Linear(d, d, bias=False)
            layer.ffn_norm = torch.nn.Parameter(torch.ones(d))
            layer.gate = torch.nn.Linear(d, f, bias=False)
            layer.up = torch.nn.Linear(d, f, bias=False)
            layer.down = torch.nn.Linear(f, d, bias=False)
            self.layers.append(layer)
        self.out_norm = torch.nn.Parameter(torch.ones(d))
        self.output = torch.nn.Parameter(torch.randn(v, d) * 0.02)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.s["rmsEps"]) * w

    def rope(self, x, cos, sin):
        # x: [B, H, T, hd]; pairs (2i, 2i+1) rotate together, as llama.cpp's "normal" rope mode does.
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)
        return out.flatten(-2)

    def forward(self, ids):
        return self.hidden(ids) @ self.output.T

    def hidden(self, ids):
        s = self.s
        b, t = ids.shape
        h = s["heads"]
        hd = s["dim"] // h
        pos = torch.arange(t, dtype=torch.float32)
        inv = s["ropeBase"] ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        ang = pos[:, None] * inv[None, :]
        cos, sin = torch.cos(ang), torch.sin(ang)
        mask = torch.full((t, t), float("-inf")).triu(1)
        x = self.embed[ids]
        for layer in self.layers:
            a = self.rms(x, layer.attn_norm)
            q = layer.q(a).view(b, t, h, hd).transpose(1, 2)
            k = layer.k(a).view(b, t, h, hd).transpose(1, 2)
            v = layer.v(a).view(b, t, h, hd).transpose(1, 2)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, s["dim"])
            x = x + layer.o(y)
            m = self.rms(x, layer.ffn_norm)
            x = x + layer.down(F.silu(layer.gate(m)) * layer.up(m))
        return self.rms(x, self.out_norm)

    def tensors(self):
        """(name, tensor) in llama-gguf.ts order; a row-major [out, in] matrix is ggml's [in, out]."""
        yield "token_embd.weight", self.embed
        for i, layer in enumerate(self.layers):
            p = f"blk.{i}."
            yield p + "attn_norm.weight", layer.attn_norm
            yield p + "attn_q.weight", layer.q.weight
            yield p + "attn_k.weight", layer.k.weight
            yield p + "attn_v.weight", layer.v.weight
            yield p + "attn_output.weight", layer.o.weight
            yield p + "ffn_norm.weight", layer.ffn_norm
            yield p + "ffn_gate.weight", layer.gate.weight
            yield p + "ffn_up.weight", layer.up.weight
            yield p + "ffn_down.weight", layer.down.weight
        yield "output_norm.weight", self.out_norm
        yield "output.weight", self.output


def batches(examples, size, rng):
    """Examples of similar length together (less padding), batches in random order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def label_logits(model, examples, idx, label_tokens):
    """Next-token logits over the whole vocabulary at each example's last prompt position."""
    seqs = [examples[i][0] for i in idx]
    t = max(len(x) for x in seqs)
    ids = torch.zeros(len(seqs), t, dtype=torch.long)
    for r, x in enumerate(seqs):
        ids[r, : len(x)] = torch.tensor(x)
    # Only the last position is scored (one projection per example, not per token): its next token must be the
    # label, over the whole vocabulary, so the label tokens also carry the probability mass llama.cpp reports.
    hidden = model.hidden(ids)
    last = torch.tensor([len(x) - 1 for x in seqs])
    return hidden[torch.arange(len(seqs)), last] @ model.output.T


def evaluate(model, examples, label_tokens):
    model.eval()
    correct, loss, n = 0, 0.0, 0
    with torch.no_grad():
        for idx in batches(examples, 32, random.Random(0)):
            z = label_logits(model, examples, idx, label_tokens)
            y = torch.tensor([examples[i][1] for i in idx])
            loss += F.cross_entropy(z, label_tokens[y], reduction="sum").item()
            correct += (z[:, label_tokens].argmax(-1) == y).sum().item()
            n += len(idx)
    model.train()
    return loss / n, correct / n


def main():
    data = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    s = data["shape"]
    hp = data["training"]
    torch.manual_seed(hp["seed"])
    torch.set_num_threads(hp.get("threads", 1))
    rng = random.Random(hp["seed"])
    label_tokens = torch.tensor(data["labelTokens"])
    train, val = data["train"], data["validation"]
    model = Llama(s)
    opt = torch.optim.AdamW(model.parameters(), lr=hp["learningRate"], weight_decay=hp["weightDecay"])
    steps = hp["epochs"] * math.ceil(len(train) / hp["batchSize"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 50) * max(0.05, 1 - i / steps))
    best, best_state, started = float("inf"), None, time.time()
    for epoch in range(hp["epochs"]):
        for idx in batches(train, hp["batchSize"], rng):
            z = label_logits(model, train, idx, label_tokens)
            loss = F.cross_entropy(z, label_tokens[torch.tensor([train[i][1] for i in idx])])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        vloss, vacc = evaluate(model, val, label_tokens)
        print(json.dumps({"epoch": epoch + 1, "validationLoss": vloss, "validationAccuracy": vacc, "seconds": time.time() - started}), flush=True)
        if vloss < best:
            best, best_state = vloss, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    with open(out, "wb") as f:
        for _, tensor in model.tensors():
            f.write(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    print(json.dumps({"done": True, "bestValidationLoss": best, "seconds": time.time() - started}), flush=True)


if __name__ == "__main__":
    main()
