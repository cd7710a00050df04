"""Drives the published creatio-api-py client against the Creatio stand-in.

Usage: python creatio_api_py_check.py <creatio base url>

Run from an empty directory: the client keeps an encrypted cookie file in the working
directory. Exits non-zero with the failed check on the first mismatch.
"""

import json
import os
import sys

from cryptography.fernet import Fernet

os.environ["SESSIONS_ENCRYPTION_KEY"] = Fernet.generate_key().decode()

import requests  # noqa: E402
from creatio_api_py.api import CreatioODataAPI  # noqa: E402

BASE = sys.argv[1].rstrip("/") + "/"
CALL_ID = "6f1e2d3c-4b5a-4968-8776-655443322110"


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


api = CreatioODataAPI(base_url=BASE, cache=False)
api.authenticate("op1", "demo")
check("BPMCSRF" in api.session_cookies and ".ASPXAUTH" in api.session_cookies, "login stores the session cookies")

refused = CreatioODataAPI(base_url=BASE, cache=False, cookies_file=__import__("pathlib").Path(".other_sessions.bin"))
try:
    refused.authenticate("op1", "wrong")
    check(False, "a wrong password is refused")
except ValueError as error:
    check("Invalid username or password" in str(error), "a wrong password is refused with Exception.Message")

found = api.get_collection_data(
    "ContactCommunication",
    filter="startswith(SearchNumber,'7654321') and CommunicationType/Id ne 00000000-0000-0000-0000-000000000000",
    select=["Id", "Number", "ContactId"],
    expand="Contact",
    order_by="Contact/Name asc",
    count=True,
    top=20,
).json()
names = [row["Contact"]["Name"] for row in found["value"]]
check(found["@odata.count"] == len(names) and "Мария Иванова" in names, f"OData query with filter/expand/count: {names}")

count = api.get_collection_data("Contact", only_count=True)
check(int(count.text) >= 30, "Contact/$count")

created = api.add_collection_data(
    "Call",
    data={"Id": CALL_ID, "CallerId": "89161234567", "CalledId": "101", "StartDate": "2026-11-23T10:00:00Z"},
)
body = created.json()
check(created.status_code == 201 and body["Id"] == CALL_ID, "POST answers 201 with the entity")
check(body["EndDate"] == "0001-01-01T00:00:00Z" and body["ProcessListeners"] == 0, "POST fills the defaults")

try:
    api.modify_collection_data("Call", CALL_ID, data={"TalkTime": 5})
    check(False, "a form-encoded PATCH is refused")
except requests.HTTPError as error:
    check(error.response.status_code == 415, "a form-encoded PATCH (the client's dict path) is refused with 415")

patched = api.modify_collection_data("Call", CALL_ID, data=json.dumps({"TalkTime": 42, "Duration": 60}))
check(patched.status_code == 204, "PATCH with a JSON body answers 204")

read = api.get_collection_data("Call", record_id=CALL_ID, select=["TalkTime", "Duration"]).json()
check(read["TalkTime"] == 42 and read["Duration"] == 60, "the update is visible")

again = CreatioODataAPI(base_url=BASE, cache=False)
again.authenticate("op1", "demo")
check(again.api_calls == 1, "a second client reuses the stored session (one Account/$count call, no login)")

deleted = api.delete_collection_data("Call", CALL_ID)
check(deleted.status_code == 204, "DELETE answers 204")
print("all checks passed")
