"""Everything mlgate reads from or writes to the repository's version control, in one place.

* :mod:`.git`: the one git runner (rev-parse, blobs at a commit, tags, status);
* :mod:`.lock`: the one dvc.lock parser and its queries (md5 of a path, stale files/params,
  the stages an output depends on);
* :mod:`.gto`: every GTO call (stage lookup, history, register/assign/unassign);
* :mod:`.worktree`: a commit materialised in a temporary git worktree from the DVC cache.
"""
