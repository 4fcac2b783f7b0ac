"""The history page benchmark: `python -m bench.history --help`, and bench/README.md for what it measures.

Modules: main (command line, Django set-up, the run), fill (the rows), cases (what is asked and the
answers it must get), measure (timing through Django's WSGI handler, the floor), report (table, JSON,
the growth table across result files). Only main may be imported before Django is set up.
"""
