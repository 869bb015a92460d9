"""Token endpoint wire format."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class TokenIn(Schema):
    grant_type = fields.String(
        load_default="client_credentials", validate=validate.Equal("client_credentials")
    )
    client_id = fields.String(required=True, validate=validate.Length(1, 64))
    client_secret = fields.String(required=True, validate=validate.Length(1, 256))
    scope = fields.String(load_default=None)


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
