"""The Spark engine: the row-proportional work of the pipeline on Apache Spark.

``compute.engine: spark`` in params.yaml sends validate, split, evaluate, the gate's scoring
and drift here; train, behavioral and serving stay local on a deterministic id-hash sample.
Each computation reduces the rows to exact sufficient statistics (integer counts per distinct
score or value) which the driver turns into metrics with the same code as the local engine,
so both engines write the same metrics files. PySpark is an optional extra (``mlgate[spark]``);
nothing here is imported by the local engine.
"""
