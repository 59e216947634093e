"""The ML pipeline: export → snapshot → train → evaluate → promote, and the predictions it serves.

Events stream into the warehouse; everything here runs in batches on Parquet in object storage, as
in AnModel: ``export`` writes the warehouse to date partitions, ``snapshot`` turns them into
per-user features (with targets for training), ``training`` fits and registers models, ``predict``
answers from the promoted one. ``state_machines/ml_pipeline.asl.json`` chains the steps.
"""
