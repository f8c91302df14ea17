"""Count-based baselines over the same vocabulary: unigram, bigram and interpolated trigram."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np

from musicapp_lab.compose.dataset import BOS, EOS


class NGramLM:
    """Jelinek-Mercer interpolated n-gram model (order 1-3) with an add-one unigram floor.

    ``lambdas`` are the weights of (unigram, bigram, trigram) and are tuned on validation data
    by :meth:`tune` (grid search), so the baseline is as strong as this family allows.
    """

    def __init__(self, vocab_size: int, order: int = 3) -> None:
        self.V = vocab_size
        self.order = order
        self.uni: Counter[int] = Counter()
        self.bi: Counter[tuple[int, int]] = Counter()
        self.tri: Counter[tuple[int, int, int]] = Counter()
        self.ctx1: Counter[int] = Counter()
        self.ctx2: Counter[tuple[int, int]] = Counter()
        self.lambdas = (1.0, 0.0, 0.0)

    def fit(self, seqs: list[list[int]]) -> NGramLM:
        """Count n-grams of ``[BOS, BOS, *ids, EOS]`` for every sequence."""
        for ids in seqs:
            s = [BOS, BOS, *ids, EOS]
            for i in range(2, len(s)):
                self.uni[s[i]] += 1
                self.bi[(s[i - 1], s[i])] += 1
                self.ctx1[s[i - 1]] += 1
                self.tri[(s[i - 2], s[i - 1], s[i])] += 1
                self.ctx2[(s[i - 2], s[i - 1])] += 1
        self.total = sum(self.uni.values())
        return self

    def prob(self, u: int, v: int, w: int) -> float:
        """P(w | u v) under the interpolation."""
        l1, l2, l3 = self.lambdas
        p1 = (self.uni[w] + 1) / (self.total + self.V)
        c1 = self.ctx1[v]
        p2 = self.bi[(v, w)] / c1 if c1 else p1
        c2 = self.ctx2[(u, v)]
        p3 = self.tri[(u, v, w)] / c2 if c2 else p2
        return l1 * p1 + l2 * p2 + l3 * p3

    def logprobs(self, ids: list[int]) -> np.ndarray:
        """Natural-log probabilities of every token of ``[*ids, EOS]`` given its history."""
        s = [BOS, BOS, *ids, EOS]
        return np.log([self.prob(s[i - 2], s[i - 1], s[i]) for i in range(2, len(s))])

    def predict(self, u: int, v: int, exclude: frozenset[int] = frozenset()) -> int:
        """Most probable next token after ``u v``."""
        best, best_p = -1, -1.0
        for w in range(self.V):
            if w in exclude:
                continue
            p = self.prob(u, v, w)
            if p > best_p:
                best, best_p = w, p
        return best

    def tune(self, valid: list[list[int]]) -> tuple[float, float, float]:
        """Grid-search the interpolation weights for minimum validation perplexity."""
        grid = np.linspace(0.0, 1.0, 11)
        best = None
        for l2, l3 in itertools.product(grid, grid):
            if self.order < 3 and l3 > 0:
                continue
            if self.order < 2 and l2 > 0:
                continue
            l1 = 1.0 - l2 - l3
            if l1 < 0.01:
                continue
            self.lambdas = (l1, l2, l3)
            nll = -np.mean(np.concatenate([self.logprobs(s) for s in valid]))
            if best is None or nll < best[0]:
                best = (nll, self.lambdas)
        assert best is not None
        self.lambdas = best[1]
        return self.lambdas
