"""
A Yelp detect-secrets plugin for tokenauth API secrets, checksum included.

    detect-secrets scan --plugin docs/scanners/tas_detector.py > .secrets.baseline

A secret is `tas_` + 24 base62 characters + a 6-character checksum: CRC-32 of
the 24-character body, written in base62 (alphabet 0-9 A-Z a-z), most
significant digit first, left-padded with '0' to 6 characters (62^6 > 2^32).
That is src/auth/token.ts; keep the two in step.

The checksum is why this plugin exists beside the gitleaks rule: a string of
the right shape whose checksum is wrong was never issued by the service (a
typo, a doctored example, a random look-alike), so it is not reported. Where a
secret is written as an `api_key:api_secret` token, the secret is what is
reported (it is what must be revoked); the key is on the same line.

Standard library only: detect-secrets loads this file by path, in its own
interpreter.
"""
import re
import zlib
from typing import Generator

from detect_secrets.plugins.base import RegexBasedDetector

BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
BODY = 24
CHECKSUM = 6

# Word boundaries, as in the gitleaks rule (not next to a letter, digit or
# underscore), so a longer run that merely contains the shape, or a truncated
# copy, does not match.
SECRET = re.compile(r'(?<![0-9A-Za-z_])tas_([0-9A-Za-z]{%d})([0-9A-Za-z]{%d})(?![0-9A-Za-z_])' % (BODY, CHECKSUM))


def base62(n: int, width: int) -> str:
    out = ''
    for _ in range(width):
        out = BASE62[n % 62] + out
        n //= 62
    return out


def checksum(body: str) -> str:
    # zlib.crc32 is unsigned in Python 3, as Node's zlib.crc32 is.
    return base62(zlib.crc32(body.encode('ascii')), CHECKSUM)


class TokenauthSecretDetector(RegexBasedDetector):
    """tokenauth api_secret: tas_ + 24 base62 + CRC-32 checksum (checked)."""

    secret_type = 'tokenauth API secret'
    denylist = (SECRET,)

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for match in SECRET.finditer(string):
            body, check = match.groups()
            if checksum(body) == check:
                yield match.group(0)
