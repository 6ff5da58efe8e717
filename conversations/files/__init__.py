"""Files in conversations (docs/attachments.md): what a file is (checks.py, from its bytes),
where it is kept (storage.py), who may fetch it (links.py) and its thumbnail (thumbnails.py).
"""
