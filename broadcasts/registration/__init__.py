"""US carrier registration of an organization's texting (issue 11, items 2, 3 and 6).

A2P 10DLC (a local number: Trust Hub customer profile → brand → campaign on the organization's
Messaging Service) or toll-free verification (a toll-free number). Modules:

- ``models``     the steps and their state machine (re-exported by ``broadcasts.models``)
- ``readiness``  ``registration_blocker``: may this organization text on its carrier path?
- ``selectors``  read paths (scoped to an organization)
- ``services``   write paths: save answers, submit, refresh, move a step's status
- ``errors``     Twilio's registration failure codes in plain words, with what to change
- ``forms``      the guided forms, every field explained
- ``views``      Settings > SMS & Voice > Texting registration, and Twilio's status callback
- ``tasks``      the scheduled refresh under a lock
"""
