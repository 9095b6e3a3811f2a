"""What an operator command says when the deployment it points at is not there: one line naming
the thing (bucket, endpoint, credentials) and what to set, never a botocore traceback."""

import os

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError

from resources.environment import DEFAULT_BUCKET, ENV_BUCKET, ENV_S3_ENDPOINT

AWS_ERRORS = (ClientError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError)


def _bucket() -> str:
    bucket = os.environ.get(ENV_BUCKET)
    return f"s3://{bucket} ({ENV_BUCKET})" if bucket else f"s3://{DEFAULT_BUCKET} (the default: {ENV_BUCKET} is unset)"


def explain(exc: Exception) -> str:
    """One line for an AWS error met by a command that reads the bucket."""
    endpoint = os.environ.get(ENV_S3_ENDPOINT) or "AWS S3"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the S3 endpoint {endpoint}: check {ENV_S3_ENDPOINT} and that the server is up"
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (f"no AWS credentials for {_bucket()}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE / an instance role)")
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if code == "NoSuchBucket":
        return f"bucket {_bucket()} does not exist at {endpoint}: check the name"
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
        return (f"{endpoint} refused {_bucket()} ({code}): the credentials need s3:ListBucket and s3:GetObject "
                "on it (and s3:PutObject on its analytics prefix for runs)")
    return f"S3 error on {_bucket()} at {endpoint}: {exc}"
