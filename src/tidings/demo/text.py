"""Subjects and message bodies: help-desk phrases mixed with Zipf-distributed filler sentences.

Bodies are assembled from a pool of pre-generated sentences rather than word by word: drawing
~60 words per thread with `random.choices` costs more than everything else a conversation needs,
and the pool keeps the Zipf term frequencies that full-text search is measured against
(stack-notes §C.3), while the many ways to combine sentences keep bodies distinct.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from tidings.demo import words

T = TypeVar("T")
Random01 = Callable[[], float]

ZIPF_EXPONENT = 1.1
# Enough sentences that bodies rarely repeat; small data sets get a smaller pool (it costs ~10 µs
# a sentence to build).
SENTENCE_POOL = 40_000
# Filler sentences per body, weighted towards short mails; with 7–13 words a sentence and the
# greeting, phrase and sign-off around them a body stays within 20–150 words.
FILLER_COUNTS = (2, 3, 4, 5, 6, 7, 8, 9)
FILLER_WEIGHTS = (14, 22, 20, 15, 11, 8, 6, 4)
RARE_SENTENCE_RATE = 0.002

NOTE_OPENERS = (
    "Internal note: checked the logs and the account looks fine on our side.",
    "Heads up, this customer has written in about the same problem before.",
    "Escalating to engineering, see the linked bug report for details.",
    "Billing confirmed the duplicate charge, refund is approved.",
    "Customer is on the annual plan, please double check before replying.",
    "Spoke with the warehouse team about this order today.",
)


def zipf_cum_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    """Cumulative weights 1/rank^s, for `random.choices(cum_weights=...)`."""
    return list(itertools.accumulate(1.0 / rank**exponent for rank in range(1, count + 1)))


class Corpus:
    """Everything textual a conversation needs.

    Methods take the generator's `random()` rather than the generator: indexing with
    `int(random() * n)` and `bisect` over cumulative weights is several times faster than
    `Random.choice`/`choices`, and this runs a few million times for a large data set.
    """

    def __init__(self, rng: random.Random, pool_size: int = SENTENCE_POOL) -> None:
        vocab = words.vocabulary()
        cum = zipf_cum_weights(len(vocab))
        pool: list[str] = []
        for _ in range(pool_size):
            sentence = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(7, 13)))
            pool.append(sentence[0].upper() + sentence[1:] + ".")
        self.pool = pool
        # Subjects are made of content words only: "Invoice export totals" rather than "The to of".
        self.subject_words = vocab[len(words.names(words.FUNCTION_WORDS)) :]
        self.subject_cum = zipf_cum_weights(len(self.subject_words))
        self.filler_cum = list(itertools.accumulate(FILLER_WEIGHTS))

    def _filler(self, random_: Random01) -> str:
        cum = self.filler_cum
        k = FILLER_COUNTS[bisect.bisect(cum, random_() * cum[-1])]
        pool = self.pool
        n = len(pool)
        text = " ".join([pool[int(random_() * n)] for _ in range(k)])
        if random_() < RARE_SENTENCE_RATE:
            text = f"{text} {words.RARE_SENTENCE}"
        return text

    def customer_body(self, random_: Random01, first_name: str) -> str:
        return (
            f"{pick(words.GREETINGS_CUSTOMER, random_)}\n\n{pick(words.CUSTOMER_SENTENCES, random_)} "
            f"{self._filler(random_)}\n\n{pick(words.SIGNOFFS_CUSTOMER, random_)}\n{first_name}"
        )

    def agent_body(self, random_: Random01, customer_first: str, agent_first: str) -> str:
        return (
            f"Hi {customer_first},\n\n{pick(words.AGENT_SENTENCES, random_)} {self._filler(random_)} "
            f"{pick(words.AGENT_SENTENCES, random_)}\n\n{pick(words.SIGNOFFS_AGENT, random_)}\n{agent_first}"
        )

    def saved_reply_body(self, random_: Random01, customer_first: str, text: str, agent_first: str) -> str:
        return (
            f"Hi {customer_first},\n\n{pick(words.AGENT_SENTENCES, random_)} {text}\n\n"
            f"{pick(words.SIGNOFFS_AGENT, random_)}\n{agent_first}"
        )

    def note_body(self, random_: Random01) -> str:
        return f"{pick(NOTE_OPENERS, random_)} {self._filler(random_)}"

    def subject(self, random_: Random01) -> str:
        """3–8 words: mostly a help-desk template, sometimes filler words as people really write."""
        if random_() < 0.8:
            return pick(words.SUBJECT_TEMPLATES, random_).format(
                n=f"#{10000 + int(random_() * 90000)}", plan=pick(words.PLANS, random_)
            )
        cum, vocab = self.subject_cum, self.subject_words
        total = cum[-1]
        count = 3 + int(random_() * 6)
        text = " ".join([vocab[bisect.bisect(cum, random_() * total)] for _ in range(count)])
        return text[0].upper() + text[1:]


def pick(items: Sequence[T], random_: Random01) -> T:
    """A uniformly chosen item."""
    return items[int(random_() * len(items))]
