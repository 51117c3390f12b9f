#!/usr/bin/env python3
"""Spans of consecutive words of the mail sentences: short texts, like the
questions visitors type, for the student to learn from.

    spans.py MAIL_TXT OUT_PREFIX     writes OUT_PREFIXspans.txt"""
import random, sys

mail, prefix = sys.argv[1:3]
lines = [l.split() for l in open(mail) if l.strip()]
out = set()
# Two rounds, as the shipped file was made: two spans of 3-10 words of
# each sentence of 6 words or more, then three of 2-9 words of each of 5
# or more.
for seed, least, shortest, longest, count in [(3, 6, 3, 10, 2), (4, 5, 2, 9, 3)]:
    pick = random.Random(seed)
    for w in lines:
        if len(w) < least:
            continue
        for _ in range(count):
            n = pick.randint(shortest, min(longest, len(w) - 1))
            i = pick.randint(0, len(w) - n)
            out.add(' '.join(w[i:i + n]))
spans = sorted(out)
random.Random(5).shuffle(spans)
with open(prefix + 'spans.txt', 'w') as f:
    f.write('\n'.join(spans) + '\n')
print(len(spans), 'spans')
