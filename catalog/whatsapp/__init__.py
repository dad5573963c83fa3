"""WhatsApp product messages: which items are ready for them, and the Cloud API JSON that shows them.

Nothing here sends anything: ``messages`` returns the interactive message a messaging
module would post to ``/{phone_number_id}/messages``; ``readiness`` says, per variant and
per product set, whether WhatsApp can show it and, when not, why (the merchant's words).
Both read only what the variant already stores (push status and Meta's verdict).
"""
