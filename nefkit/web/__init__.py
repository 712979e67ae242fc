"""``nefkit serve``: the web front door to a clinic's database.

Clients fill in the questionnaires they were invited to on a tablet or phone (:mod:`.client`);
clinicians sign in to see alerts, clients and invitations (:mod:`.clinician`). Both go through
the same :class:`nefkit.clinic.form.Form` and :class:`nefkit.clinic.alerts.Clinic` as the
terminal, so an answer is validated, saved and alerted on exactly as ``nefkit administer``
does. Pages are rendered on the server and work without JavaScript; :mod:`.security` sets the
headers, cookies and checks every page shares.
"""
