"""Sign In With Solana: the message text, its grammar, signature decoding and ed25519 verification.

Pure functions (no database): the services decide what a parsed message must match. A server parses
the bytes that were signed and checks every field against the challenge it issued, rather than
rebuilding the text, because wallets differ in small layout details.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from apps.core.exceptions import ApplicationError

HEADER_SUFFIX = " wants you to sign in with your Solana account:"
HEADER_RE = re.compile(
    r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*)://)?(?P<domain>[^\s/?#]+) wants you to sign in with your Solana account:?$"
)
BASE58_RE = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")
NONCE_RE = re.compile(r"^[A-Za-z0-9]{8,64}$")
FIELD_ORDER = ["URI", "Version", "Chain ID", "Nonce", "Issued At", "Expiration Time", "Not Before", "Request ID"]
FIELD_RE = re.compile(r"^(URI|Version|Chain ID|Nonce|Issued At|Expiration Time|Not Before|Request ID): (.*)$")
MAX_MESSAGE_BYTES = 4096

OFFCHAIN_DOMAIN = b"\xffsolana offchain"


class SiwsError(ApplicationError):
    """A refused Sign In With Solana attempt. Every refusal has its own code (README "Wallet")."""

    status = 400
    code = "siws_invalid"
    message = "The wallet signature could not be accepted."


@dataclass
class SiwsMessage:
    domain: str
    scheme: str | None
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: str | None
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: list[str] = field(default_factory=list)


# --- formatting -----------------------------------------------------------------------------------


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and Z, as wallets' JavaScript produces it."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def build_message(
    *,
    domain: str,
    address: str,
    statement: str,
    uri: str,
    chain_id: str,
    nonce: str,
    issued_at: datetime,
    expiration_time: datetime,
) -> str:
    lines = [f"{domain}{HEADER_SUFFIX}", address, ""]
    if statement:
        lines += [statement, ""]
    lines += [
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {format_time(issued_at)}",
        f"Expiration Time: {format_time(expiration_time)}",
    ]
    return "\n".join(lines)


# --- parsing --------------------------------------------------------------------------------------


def _malformed(reason: str) -> SiwsError:
    return SiwsError(f"The message is not a Sign In With Solana message: {reason}.", code="siws_malformed_message")


def parse_time(value: str, name: str) -> datetime:
    # RFC 3339 needs a date, a time and an offset (Z or ±hh:mm).
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", value):
        raise _malformed(f"{name} is not an RFC 3339 time")
    text = value.replace("z", "Z")
    frac = re.search(r"\.(\d+)", text)
    if frac and len(frac.group(1)) > 6:  # Python keeps microseconds
        text = text.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise _malformed(f"{name} is not an RFC 3339 time") from None


def parse_message(text: str) -> SiwsMessage:
    """Parse the SIWS text grammar (CRLF tolerated, trailing newline tolerated, statement optional,
    optional fields in any order but each at most once). Raises SiwsError(siws_malformed_message)."""
    if not isinstance(text, str) or not text.strip():
        raise _malformed("it is empty")
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise _malformed("it is too long")
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    if len(lines) < 6:
        raise _malformed("required lines are missing")
    header = HEADER_RE.match(lines[0].strip())
    if not header:
        raise _malformed("the first line must read '<domain> wants you to sign in with your Solana account:'")
    address = lines[1].strip()
    if not is_valid_address(address):
        raise _malformed("the second line must be a base58 Solana address")

    rest = lines[2:]
    first_field = next((i for i, line in enumerate(rest) if FIELD_RE.match(line)), None)
    if first_field is None:
        raise _malformed("the URI, Version, Nonce and Issued At lines are missing")
    statement_lines = [line for line in rest[:first_field] if line.strip()]
    if len(statement_lines) > 1:
        raise _malformed("the statement must be one line")
    statement = statement_lines[0] if statement_lines else None

    values: dict[str, str] = {}
    resources: list[str] = []
    in_resources = False
    for line in rest[first_field:]:
        if in_resources:
            if line.startswith("- ") and line[2:].strip():
                resources.append(line[2:].strip())
                continue
            raise _malformed("only '- <uri>' lines may follow 'Resources:'")
        if line == "Resources:":
            in_resources = True
            continue
        match = FIELD_RE.match(line)
        if not match:
            raise _malformed(f"unexpected line {line[:40]!r}")
        key, value = match.group(1), match.group(2).strip()
        if key in values:
            raise _malformed(f"'{key}' appears twice")
        if not value:
            raise _malformed(f"'{key}' is empty")
        values[key] = value
    for required in ("URI", "Version", "Nonce", "Issued At"):
        if required not in values:
            raise _malformed(f"the '{required}' line is missing")
    if not NONCE_RE.match(values["Nonce"]):
        raise _malformed("the nonce must be 8 or more letters and digits")
    return SiwsMessage(
        domain=header.group("domain"),
        scheme=header.group("scheme"),
        address=address,
        statement=statement,
        uri=values["URI"],
        version=values["Version"],
        chain_id=values.get("Chain ID"),
        nonce=values["Nonce"],
        issued_at=parse_time(values["Issued At"], "Issued At"),
        expiration_time=parse_time(values["Expiration Time"], "Expiration Time")
        if "Expiration Time" in values
        else None,
        not_before=parse_time(values["Not Before"], "Not Before") if "Not Before" in values else None,
        request_id=values.get("Request ID"),
        resources=resources,
    )


# --- addresses and signatures ---------------------------------------------------------------------


def is_valid_address(value: Any) -> bool:
    if not isinstance(value, str) or not 32 <= len(value) <= 44 or not BASE58_RE.match(value):
        return False
    try:
        return len(base58.b58decode(value)) == 32
    except ValueError:
        return False


def decode_signature(value: Any) -> bytes:
    """A 64-byte ed25519 signature, base58 (what wallets send) or base64 (standard or URL-safe)."""
    bad = SiwsError("The signature must be 64 bytes, base58 or base64 encoded.", code="siws_signature_malformed")
    if not isinstance(value, str) or not value or len(value) > 200:
        raise bad
    value = value.strip()
    if BASE58_RE.match(value):
        try:
            raw = base58.b58decode(value)
        except ValueError:
            raw = b""
        if len(raw) == 64:
            return raw
    try:
        padded = value + "=" * (-len(value) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise bad from None
    if len(raw) != 64:
        raise bad
    return raw


def offchain_envelopes(message: bytes, signer: bytes = b"") -> list[bytes]:
    """The bytes a hardware wallet may sign instead of the bare message (Solana off-chain message,
    header version 0), in both layouts wallets use:

    - the current spec: `\\xffsolana offchain` | version 0 | application domain (32 bytes; Ledger's
      default is zeros) | format | signer count (1) | signer pubkey | length u16 LE | message;
    - the legacy one (older SDKs and Ledger apps): `\\xffsolana offchain` | version 0 | format |
      length u16 LE | message.

    The format byte is 0 (restricted ASCII), 1 (limited UTF-8) or 2 (extended UTF-8); all are tried."""
    if not message or len(message) > 0xFFFF:
        return []
    length = struct.pack("<H", len(message))
    envelopes = []
    for fmt in (0, 1, 2):
        envelopes.append(OFFCHAIN_DOMAIN + bytes([0, fmt]) + length + message)
        if len(signer) == 32:
            envelopes.append(OFFCHAIN_DOMAIN + bytes([0]) + bytes(32) + bytes([fmt, 1]) + signer + length + message)
    return envelopes


def verify_signature(*, address: str, message: bytes, signature: bytes) -> bool:
    """True when `signature` is the key `address`'s ed25519 signature of `message`, either of the bare
    bytes or of their off-chain message envelope."""
    try:
        pubkey = Pubkey.from_string(address)
        sig = Signature.from_bytes(signature)
    except (ValueError, TypeError):
        return False
    if sig.verify(pubkey, message):
        return True
    return any(sig.verify(pubkey, envelope) for envelope in offchain_envelopes(message, bytes(pubkey)))


# --- secret material ------------------------------------------------------------------------------

SECRET_KEY_NAME_RE = re.compile(r"private|secret|seed|mnemonic|keypair|recovery|phrase", re.IGNORECASE)
SEED_PHRASE_RE = re.compile(r"^\s*[a-z]{3,8}(?:\s+[a-z]{3,8}){11,23}\s*$")


def _is_keypair_bytes(raw: bytes) -> bool:
    if len(raw) != 64:
        return False
    try:
        return bytes(Keypair.from_seed(raw[:32]).pubkey()) == raw[32:]
    except (ValueError, TypeError):
        return False


def _looks_secret(value: Any) -> bool:
    if isinstance(value, list) and len(value) == 64 and all(isinstance(b, int) and 0 <= b <= 255 for b in value):
        return True  # a keypair file (solana-keygen's JSON array of 64 bytes)
    if not isinstance(value, str) or len(value) > 1000:
        return False
    if SEED_PHRASE_RE.match(value) and len(value.split()) in (12, 15, 18, 21, 24):
        return True
    text = value.strip()
    candidates: list[bytes] = []
    if BASE58_RE.match(text) and 80 <= len(text) <= 90:
        with contextlib.suppress(ValueError):
            candidates.append(base58.b58decode(text))
    if re.fullmatch(r"[0-9a-fA-F]{128}", text):
        candidates.append(bytes.fromhex(text))
    if re.fullmatch(r"[A-Za-z0-9+/_\-]{86}={0,2}", text):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(
                base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None)
            )
    return any(_is_keypair_bytes(raw) for raw in candidates)


def find_secret_material(data: Any, path: str = "") -> str | None:
    """The path of the first field that names or holds a private key or seed phrase, else None."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if SECRET_KEY_NAME_RE.search(str(key)) or _looks_secret(value):
                return here
            found = find_secret_material(value, here) if isinstance(value, (dict, list)) else None
            if found:
                return found
    elif isinstance(data, list):
        if _looks_secret(data):
            return path or "body"
        for index, value in enumerate(data):
            found = find_secret_material(value, f"{path}[{index}]")
            if found:
                return found
    elif _looks_secret(data):
        return path or "body"
    return None


def refuse_secret_material(data: Any) -> None:
    """Raise 400 `secret_material_refused` (never echoing the value) if a body carries key material."""
    found = find_secret_material(data)
    if found:
        raise ApplicationError(
            "Never send a private key or seed phrase: this service only ever asks your wallet for a signature.",
            code="secret_material_refused",
            status=400,
            details={found: ["Private keys and seed phrases are refused."]},
        )
