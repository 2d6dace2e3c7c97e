"""`millesime lsp`: a Language Server Protocol server for `.mil` files (needs the `lsp` extra: pygls).

- analysis.py  the rulesets of a folder analysed together (open buffers in place of their files):
               diagnostics, and every name of every file with what it stands for
- hover.py     what a name, a table or a cell is, in French: label, type, sources and their grade,
               the value in force
- server.py    the protocol (pygls): diagnostics as the analyst types, hover, definition,
               references, completion, outline, quick fixes
"""
