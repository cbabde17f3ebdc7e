"""The S3 provider (boto3), with its signed single-request uploads."""
