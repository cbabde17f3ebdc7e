"""The SFTP provider: OpenSSH's client carries the session; the SFTP v3 wire, files, refusals."""
