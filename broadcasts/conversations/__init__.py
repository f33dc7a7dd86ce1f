"""Conversations: the two-way messenger beside the broadcasts (issue 13).

``models`` the conversation of one phone number and the link of each inbound text to it;
``services`` the write paths (an inbound text joins, a status moves, a reply goes out);
``selectors`` the read paths (the list, the thread, the unread count, the owners of a number);
``views``/``urls`` the messenger pages; ``api`` the JSON API; ``tasks`` the email digest.
"""
