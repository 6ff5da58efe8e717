"""The REST API of conversations, one module a side: `widget` (customers), `agent` (agents),
`inbound_email`. `base` holds what every endpoint shares, the agents' and reports' apps too.

Thin views: validate with an input serializer, call a service or a selector, answer with the
public shapes of serializers.py.
"""
