"""shardline's training-side client: read a dataset index as each rank's exact share.

``from shardline.data import ShardlineDataset`` (standard library only; boto3 for S3 when
installed). With PyTorch: ``from shardline.torch import ShardlineIterableDataset,
ShardlineDataLoader``. Importing this package does nothing else.
"""

__version__ = "0.1.0"
