"""The clinic: the SQLite database (sqlite.py; sqlite_file.py makes, recognises and opens the
file), alerts derived from the current record and the service every write goes through
(alerts.py), asking a questionnaire in the terminal (administer.py), recording forms and files
(recording.py), exports (exporting.py), client information sheets (info_sheet.py), the clinic's
settings (config.py) and the rule for client ids and names (people.py)."""
