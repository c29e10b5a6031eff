#!/usr/bin/env python3
"""Checks every relative link in README.md and docs/*.md: the file exists
inside the repository and, for `page.md#anchor`, the page has a heading with
that GitHub anchor. Usage: python3 scripts/check_doc_links.py [REPO_ROOT]"""
import os, re, sys, glob
root = sys.argv[1] if len(sys.argv) > 1 else '.'
os.chdir(root)
files = ['README.md'] + sorted(glob.glob('docs/*.md'))
def slug(h):
    h = h.strip().lower()
    h = re.sub(r'[^\w\- ]', '', h)   # drop punctuation (keeps letters, digits, _, -, space)
    return h.replace(' ', '-')
def anchors(path):
    out, seen, fence = set(), {}, False
    for line in open(path, encoding='utf-8'):
        if line.lstrip().startswith('```'):
            fence = not fence; continue
        if fence: continue
        m = re.match(r'^(#{1,6})\s+(.*?)\s*#*\s*$', line)
        if m:
            s = slug(m.group(2))
            n = seen.get(s, 0); seen[s] = n + 1
            out.add(s if n == 0 else f'{s}-{n}')
    return out
bad = 0; count = 0
for f in files:
    text = open(f, encoding='utf-8').read()
    text = re.sub(r'(?ms)^```.*?^```', '', text)      # no links inside code blocks
    text = re.sub(r'`[^`\n]*`', lambda m: '' if '](' not in m.group(0) else m.group(0), text)
    for m in re.finditer(r'\]\(([^)\s]+)\)', text):
        link = m.group(1); count += 1
        if re.match(r'^[a-z]+:', link):
            continue
        path, _, frag = link.partition('#')
        target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.exists(target):
            print(f'{f}: broken link {link} (no {target})'); bad += 1; continue
        if os.path.relpath(os.path.abspath(target), os.path.abspath('.')).startswith('..'):
            print(f'{f}: link leaves the repository: {link}'); bad += 1; continue
        if frag:
            if not target.endswith('.md'):
                print(f'{f}: anchor on non-markdown {link}'); bad += 1
            elif frag not in anchors(target):
                print(f'{f}: missing anchor {link}'); bad += 1
print(f'{len(files)} files, {count} links, {bad} problems')
sys.exit(1 if bad else 0)
