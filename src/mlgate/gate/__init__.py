"""The gate: gather the evidence, compare with the champion, apply the rules, decide.

* :mod:`.paths` where the evidence is (passed in by the stage), :mod:`.evidence` reads it all
  (:func:`~.evidence.read_evidence`), :mod:`.champion_evidence` the champion's side of it,
  :mod:`.champion_scores` its committed scores when they provably cover these rows;
* :mod:`.compare` the paired comparison of both models on the same rows;
* rules, each module one family of checks: :mod:`.floors` (upstream passed, fresh, AUC floors),
  :mod:`.champion_rules` (improvement, non-inferiority), :mod:`.slice_rules`,
  :mod:`.serving_rules`, :mod:`.leakage`, :mod:`.holdout_reuse`; their statistics (error
  rates) in :mod:`.statistics`;
* :mod:`.decision` turns the checks into one decision (:func:`~.decision.decide`),
  :mod:`.record` writes the comparison record; :mod:`.checks` holds ``Check``/``Missing``.
"""
