"""Email continuity: `outbound` emails agents' replies to customers who are away (with a
resume link); `inbound` turns a customer's email into a message of its conversation."""
