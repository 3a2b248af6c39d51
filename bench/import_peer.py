"""Peer for bench/import-ccks: parse CCKS 2017 files and insert them with stdlib sqlite3.

It does less than emrel (no schema checks, no pair generation, no labels), so a ratio near 1
means emrel's extra work costs little. Prints the elapsed seconds."""
import glob
import os
import re
import sqlite3
import sys
import time

data, db = sys.argv[1], sys.argv[2]
start = time.perf_counter()
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode=WAL")
con.executescript(
    """CREATE TABLE document (id INTEGER PRIMARY KEY, name TEXT UNIQUE, text TEXT);
       CREATE TABLE sentence (id INTEGER PRIMARY KEY, document_id INTEGER, idx INTEGER, text TEXT);
       CREATE TABLE entity (id INTEGER PRIMARY KEY, document_id INTEGER, type TEXT, start INTEGER,
                            end INTEGER, mention TEXT);"""
)
with con:
    for path in sorted(glob.glob(os.path.join(data, "**", "*.txtoriginal.txt"), recursive=True)):
        name = os.path.basename(path)[: -len(".txtoriginal.txt")]
        text = open(path, encoding="utf-8").read()
        doc = con.execute("INSERT INTO document (name, text) VALUES (?, ?)", (name, text)).lastrowid
        sentences = [s for s in re.split(r"(?<=[。！？])", text) if s.strip()]
        con.executemany(
            "INSERT INTO sentence (document_id, idx, text) VALUES (?, ?, ?)",
            [(doc, i, s.strip()) for i, s in enumerate(sentences)],
        )
        ann = path[: -len(".txtoriginal.txt")] + ".txt"
        rows = []
        for line in open(ann, encoding="utf-8"):
            m, b, e, t = line.rstrip("\r\n").split("\t")
            assert text[int(b) : int(e) + 1] == m
            rows.append((doc, t, int(b), int(e) + 1, m))
        con.executemany(
            "INSERT INTO entity (document_id, type, start, end, mention) VALUES (?, ?, ?, ?, ?)", rows
        )
print(f"{time.perf_counter() - start:.3f}")
