"""PyTorch reference of EMRel's ResGRU-Att at the speed benchmark's shapes.

Same architecture as crates/emrel-ml (zoo.rs, `cpu` preset): char 128 + 2 x 25 position
embeddings, dropout 0.5, a ResNet branch (conv stem, window 3, 128 filters, 2 residual blocks of
two conv + ReLU with identity shortcut) and a BiGRU branch (128 per direction), each followed by
attention pooling a = softmax(w . tanh(H) + b), S = sum a_i H_i; the two concatenated, dropout,
linear. Adam (lr 1e-3, eps 1e-8). Batch 64 x 100 characters, 12 classes, 2,000 characters.

Prints one JSON line: step_ms, train_samples_per_s, score_samples_per_s.
"""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.w = nn.Linear(dim, 1)

    def forward(self, h, pad):
        scores = self.w(torch.tanh(h)).squeeze(-1).masked_fill(pad, -1e9)
        a = torch.softmax(scores, dim=1)
        return torch.bmm(a.unsqueeze(1), h).squeeze(1)


class ResGruAtt(nn.Module):
    def __init__(self, vocab=2000, n_pos=122, char_dim=128, pos_dim=25, filters=128, blocks=2,
                 hidden=128, classes=12, dropout=0.5):
        super().__init__()
        d = char_dim + 2 * pos_dim
        self.char = nn.Embedding(vocab, char_dim)
        self.head = nn.Embedding(n_pos, pos_dim)
        self.tail = nn.Embedding(n_pos, pos_dim)
        self.stem = nn.Conv1d(d, filters, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.ModuleList([nn.Conv1d(filters, filters, 3, padding=1),
                           nn.Conv1d(filters, filters, 3, padding=1)]) for _ in range(blocks))
        self.gru = nn.GRU(d, hidden, batch_first=True, bidirectional=True)
        self.conv_att = Attention(filters)
        self.rnn_att = Attention(2 * hidden)
        self.out = nn.Linear(filters + 2 * hidden, classes)
        self.dropout = nn.Dropout(dropout)

    def features(self, chars, hp, tp, mask):
        pad = mask == 0
        m = mask.unsqueeze(-1)
        x = torch.cat([self.char(chars), self.head(hp), self.tail(tp)], dim=2)
        x = self.dropout(x) * m
        c = F.relu(self.stem(x.transpose(1, 2))).transpose(1, 2) * m
        for conv1, conv2 in self.blocks:
            c1 = F.relu(conv1(c.transpose(1, 2))).transpose(1, 2) * m
            c2 = F.relu(conv2(c1.transpose(1, 2))).transpose(1, 2)
            c = F.relu(c2 + c) * m
        h, _ = self.gru(x)
        return torch.cat([self.conv_att(c, pad), self.rnn_att(h, pad)], dim=1)

    def forward(self, chars, hp, tp, mask):
        return self.out(self.dropout(self.features(chars, hp, tp, mask)))


def batch(n, length, vocab, n_pos, gen):
    chars = torch.randint(2, vocab, (n, length), generator=gen)
    hp = torch.randint(1, n_pos, (n, length), generator=gen)
    tp = torch.randint(1, n_pos, (n, length), generator=gen)
    mask = torch.ones(n, length)
    return chars, hp, tp, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--score-pairs", type=int, default=2048)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    model = ResGruAtt()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    xb = batch(64, 100, 2000, 122, gen)
    y = torch.randint(0, 12, (64,), generator=gen)
    times = []
    model.train()
    for step in range(2 + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(*xb), y)
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    step = times[len(times) // 2]
    model.eval()
    pairs = batch(args.score_pairs, 100, 2000, 122, gen)
    with torch.no_grad():
        torch.softmax(model(*(t[:256] for t in pairs)), dim=1)
        t0 = time.perf_counter()
        for i in range(0, args.score_pairs, 256):
            torch.softmax(model(*(t[i:i + 256] for t in pairs)), dim=1).numpy()
        secs = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "threads": torch.get_num_threads(),
        "parameters": params,
        "step_ms": round(step * 1e3, 1),
        "train_samples_per_s": round(64 / step, 1),
        "score_samples_per_s": round(args.score_pairs / secs, 1),
    }))


if __name__ == "__main__":
    main()
