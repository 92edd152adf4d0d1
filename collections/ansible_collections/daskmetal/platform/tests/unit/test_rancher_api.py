"""Unit tests for module_utils/rancher_api.py against the Rancher API test double."""
import json
import os
import sys

import pytest

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from ansible_collections.daskmetal.platform.plugins.module_utils import rancher_api as ra  # noqa: E402
from tests.doubles.rancher_api import RancherDouble  # noqa: E402

PASSWORD = "bootstrap-password-1234"


def no_sleep(_):
    return None


def urllib_transport(method, url, headers, body, timeout):
    """A fast plain-urllib transport (Ansible's open_url builds a TLS context per call, ~0.1 s)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def client_for(double, transport=urllib_transport, **kw):
    kw.setdefault("retries", 3)
    return ra.RancherClient(double.url, transport, sleep=no_sleep, **kw)


def test_ansible_transport_round_trip(double):
    """The transport the modules use: statuses and bodies come back, 4xx is not an exception."""
    client = client_for(double, transport=ra.ansible_transport(validate_certs=False))
    token, _ = client.login("admin", PASSWORD)
    assert client.token_valid()
    with pytest.raises(ra.RancherAuthError):
        client_for(double, transport=ra.ansible_transport()).login("admin", "wrong-password-123")


# One generation of the double per Rancher line (tests/doubles/rancher_api.py VERSIONS); 2.12 is pinned.
@pytest.fixture(params=["2.11", "2.12", "2.13"])
def double(request):
    with RancherDouble(version=request.param, password=PASSWORD) as d:
        yield d


@pytest.fixture(params=["2.12", "2.13"])
def ext_double(request):
    """The Rancher lines that serve ext tokens."""
    with RancherDouble(version=request.param, password=PASSWORD) as d:
        yield d


def test_login_uses_v1_public_then_falls_back_to_v3(double):
    client = client_for(double)
    token, path = client.login("admin", PASSWORD)
    assert token.startswith("token-") and ":" in token
    if double.features["v1_login"]:
        assert path == ra.LOGIN_V1
        assert [r[1] for r in double.requests] == ["/v1-public/login"]
        body = double.requests[0][2]
        assert body["type"] == "localProvider" and body["responseType"] == "json"
    else:
        assert path == ra.LOGIN_V3
        assert [r[1] for r in double.requests] == ["/v1-public/login", ra.LOGIN_V3]
    assert client.token_valid()


def test_wrong_password_raises_auth_error(double):
    client = client_for(double)
    with pytest.raises(ra.RancherAuthError) as exc:
        client.login("admin", "not-the-password")
    assert exc.value.status == 401
    # a 401 is final: no retries
    assert len([r for r in double.requests if "login" in r[1]]) <= 2


def test_unauthenticated_call_raises_auth_error(double):
    client = client_for(double, token="token-00000:forged")
    with pytest.raises(ra.RancherAuthError):
        client.get_setting("server-url")
    assert client.token_valid() is False


def test_server_url_setting_is_idempotent(double):
    client = client_for(double)
    client.login("admin", PASSWORD)
    assert client.ensure_setting("server-url", "https://10.147.17.10", check_mode=True) is True
    assert double.settings["server-url"] == ""
    assert client.ensure_setting("server-url", "https://10.147.17.10") is True
    assert double.settings["server-url"] == "https://10.147.17.10"
    assert client.ensure_setting("server-url", "https://10.147.17.10") is False
    puts = [r for r in double.requests if r[0] == "PUT"]
    assert puts == [("PUT", "/v3/settings/server-url", {"name": "server-url", "value": "https://10.147.17.10"})]


def test_api_token_uses_ext_when_available_else_v3(double):
    client = client_for(double)
    client.login("admin", PASSWORD)
    made = client.create_api_token("daskmetal test")
    if double.features["ext_tokens"]:
        assert made["api"] == "ext" and made["token"].startswith("ext/token-")
        post = [r for r in double.requests if r[1] == ra.EXT_TOKENS][0][2]
        assert post["apiVersion"] == "ext.cattle.io/v1" and post["kind"] == "Token"
        assert post["spec"] == {"description": "daskmetal test"}
        assert double.api_tokens("ext") == [made["name"]]
    else:
        assert made["api"] == "v3" and made["token"].startswith("token-")
        assert [r[1] for r in double.requests if r[0] == "POST"][-2:] == [ra.EXT_TOKENS, ra.V3_TOKENS]
        assert double.api_tokens("v3") == [made["name"]]
    assert client.token_valid(made["token"])


def test_pinned_2_12_ext_token_without_bearer_token_works():
    """Rancher 2.12.3 answers status.value but no status.bearerToken (review B1): the module must still
    return a token that authenticates, and leave exactly that one token behind."""
    with RancherDouble(version="2.12", password=PASSWORD) as d:
        try:
            res = ra.ensure_api_token(client_for(d), "admin", PASSWORD, server_url="https://zt.example")
        except ra.RancherError as exc:
            pytest.fail("%s; ext tokens left behind: %s" % (exc, d.api_tokens("ext")))
        assert res["created"] and res["token_api"] == "ext" and res["login_path"] == ra.LOGIN_V3
        name = d.api_tokens("ext")
        assert len(name) == 1 and res["token"].startswith("ext/%s:" % name[0])
        assert client_for(d, token=res["token"]).get_setting("server-url") == "https://zt.example"
        assert d.api_tokens("session") == []  # logged out again


def rewriting_transport(rewrite):
    """urllib_transport, with the ext token create answer passed through ``rewrite(status_dict)``."""
    def transport(method, url, headers, body, timeout):
        status, raw = urllib_transport(method, url, headers, body, timeout)
        if method == "POST" and url.endswith(ra.EXT_TOKENS) and status == 201:
            data = json.loads(raw)
            rewrite(data["status"])
            raw = json.dumps(data).encode()
        return status, raw
    return transport


@pytest.mark.parametrize("rewrite", [
    lambda st: (st.pop("value", None), st.pop("bearerToken", None)),           # no usable value
    lambda st: st.update(value="wrong", bearerToken=st.get("bearerToken") and "ext/x:wrong"),  # rejected
], ids=["no-value", "does-not-authenticate"])
def test_unusable_new_token_is_deleted(ext_double, rewrite):
    client = client_for(ext_double, transport=rewriting_transport(rewrite))
    with pytest.raises(ra.RancherError, match="deleted it"):
        ra.ensure_api_token(client, "admin", PASSWORD)
    assert ext_double.api_tokens() == []  # neither the bad API token nor the login session is left


def test_ext_token_post_is_not_retried_after_a_500_and_leaves_no_token(ext_double):
    ext_double.fail_after_commit = 1  # created server-side, answered 500
    client = client_for(ext_double, retries=3)
    client.login("admin", PASSWORD)
    with pytest.raises(ra.RancherError) as exc:
        client.create_api_token("daskmetal test")
    assert exc.value.status == 500
    assert len([r for r in ext_double.requests if r[0] == "POST" and r[1] == ra.EXT_TOKENS]) == 1
    assert ext_double.api_tokens("ext") == []


def test_v3_token_post_is_not_retried_after_a_500():
    with RancherDouble(version="2.11", password=PASSWORD, fail_after_commit=1) as d:
        client = client_for(d, retries=3)
        client.login("admin", PASSWORD)
        with pytest.raises(ra.RancherError) as exc:
            client.create_api_token("daskmetal test")
        assert exc.value.status == 500
        assert len([r for r in d.requests if r[0] == "POST" and r[1] == ra.V3_TOKENS]) == 1


def test_post_is_not_retried_after_a_dropped_connection_but_get_is():
    calls = []

    def transport(method, url, headers, body, timeout):
        calls.append(method)
        raise ConnectionResetError("reset by peer")

    client = ra.RancherClient("https://r.example", transport, token="t", retries=2, sleep=no_sleep)
    with pytest.raises(ra.RancherError, match="cannot reach"):
        client.request("POST", ra.V3_TOKENS, {})
    assert calls == ["POST"]
    with pytest.raises(ra.RancherError, match="cannot reach"):
        client.request("GET", "/v3/users?me=true")
    assert calls == ["POST"] + ["GET"] * 3


def test_cluster_post_is_retried_after_a_500_because_it_is_idempotent_by_name():
    with RancherDouble(password=PASSWORD) as d:
        failed = []

        def transport(method, url, headers, body, timeout):
            status, raw = urllib_transport(method, url, headers, body, timeout)
            if method == "POST" and url.endswith(ra.PROVISIONING_CLUSTERS) and not failed:
                failed.append(status)  # carried out, but the answer is lost
                return 500, b"{}"
            return status, raw

        client = client_for(d, transport=transport)
        client.login("admin", PASSWORD)
        changed, obj = client.create_imported_cluster("fleet-default", "c1")
        assert failed == [201] and changed is False and obj["metadata"]["name"] == "c1"
        assert list(d.prov_clusters) == [("fleet-default", "c1")]


def test_ensure_api_token_keeps_a_valid_existing_token(double):
    client = client_for(double)
    first = ra.ensure_api_token(client, "admin", PASSWORD, server_url="https://zt.example", token_api="v3")
    assert first["created"] and first["server_url_changed"]
    again = ra.ensure_api_token(client_for(double), "admin", PASSWORD, existing_token=first["token"],
                                server_url="https://zt.example", token_api="v3")
    assert again == {"token": first["token"], "created": False, "server_url_changed": False,
                     "login_path": None, "token_api": "existing", "password_changed": False}


def test_ensure_api_token_replaces_a_revoked_token(double):
    res = ra.ensure_api_token(client_for(double), "admin", PASSWORD, existing_token="token-99999:revoked",
                              token_api="v3")
    assert res["created"] and res["token"] != "token-99999:revoked"


def test_ensure_api_token_check_mode_creates_nothing(double):
    before = len(double.tokens)
    res = ra.ensure_api_token(client_for(double), "admin", PASSWORD, server_url="https://x", check_mode=True)
    assert res["created"] and res["server_url_changed"] and res["token"] is None
    assert len(double.tokens) == before  # the login session was logged out again
    assert double.settings["server-url"] == ""


def logged_in(double):
    client = client_for(double)
    client.login("admin", PASSWORD)
    client.ensure_setting("server-url", double.url)
    return client


def test_imported_cluster_created_and_manifest_returned(double):
    double.cluster_id_after = 3  # Rancher fills status.clusterName asynchronously
    client = logged_in(double)
    res = ra.ensure_imported_cluster(client, "daskmetal", labels={"daskmetal.io/layer": "rke2"}, interval=0)
    assert res["changed"] is True
    assert res["cluster_id"].startswith("c-m-")
    assert res["manifest_url"].startswith(double.url + "/v3/import/") and res["manifest_url"].endswith(".yaml")
    assert res["state"] == "pending"
    post = [r for r in double.requests if r[0] == "POST" and r[1] == ra.PROVISIONING_CLUSTERS][0][2]
    assert post == {"type": "provisioning.cattle.io.cluster",
                    "metadata": {"namespace": "fleet-default", "name": "daskmetal",
                                 "labels": {"daskmetal.io/layer": "rke2"}}, "spec": {}}


def test_registration_token_is_created_when_rancher_made_none(double):
    double.auto_registration_token = False
    client = logged_in(double)
    res = ra.ensure_imported_cluster(client, "daskmetal", interval=0)
    assert res["manifest_url"]
    assert ("POST", ra.REGISTRATION_TOKENS) in [(r[0], r[1]) for r in double.requests]


def test_already_registered_cluster_is_left_alone(double):
    cid = double.add_imported_cluster("daskmetal")
    client = logged_in(double)
    res = ra.ensure_imported_cluster(client, "daskmetal", interval=0)
    assert res["changed"] is False and res["cluster_id"] == cid and res["state"] == "active"
    assert not [r for r in double.requests if r[0] == "POST" and "provisioning" in r[1]]


def test_check_mode_does_not_create_a_cluster(double):
    client = logged_in(double)
    res = ra.ensure_imported_cluster(client, "daskmetal", check_mode=True, interval=0)
    assert res == {"changed": True, "cluster_id": None, "manifest_url": None, "state": None,
                   "registration_command": None}
    assert double.prov_clusters == {}


def test_conflict_on_create_reads_the_existing_cluster(double):
    client = logged_in(double)
    changed, _ = client.create_imported_cluster("fleet-default", "c1")
    assert changed
    changed, obj = client.create_imported_cluster("fleet-default", "c1")
    assert changed is False and obj["metadata"]["name"] == "c1"


def test_rancher_provisioned_cluster_of_the_same_name_is_refused(double):
    client = logged_in(double)
    double.add_imported_cluster("daskmetal")
    double.prov_clusters[("fleet-default", "daskmetal")]["spec"] = {"rkeConfig": {}}
    with pytest.raises(ra.RancherError, match="rkeConfig"):
        ra.ensure_imported_cluster(client, "daskmetal", interval=0)


def test_cluster_becomes_active_after_manifest_is_fetched(double):
    import urllib.request

    double.active_after_polls = 2
    client = logged_in(double)
    res = ra.ensure_imported_cluster(client, "daskmetal", interval=0)
    with pytest.raises(ra.RancherError, match="not active"):
        client.wait_cluster_active(res["cluster_id"], timeout=0, interval=0)
    manifest = urllib.request.urlopen(res["manifest_url"]).read().decode()
    assert "kind: Namespace" in manifest
    assert client.wait_cluster_active(res["cluster_id"], timeout=5, interval=0) == "active"


def test_retries_on_503_then_succeeds():
    with RancherDouble(version="2.13", password=PASSWORD, fail_next=2) as d:
        client = client_for(d, retries=3)
        token, _ = client.login("admin", PASSWORD)
        assert token
        assert len(d.requests) == 3


def test_gives_up_after_retries():
    with RancherDouble(version="2.13", password=PASSWORD, fail_next=10) as d:
        client = client_for(d, retries=2)
        with pytest.raises(ra.RancherError) as exc:
            client.login("admin", PASSWORD)
        assert exc.value.status == 503 and len(d.requests) == 3


def test_connection_refused_is_a_clear_error():
    client = ra.RancherClient("http://127.0.0.1:9", ra.ansible_transport(), retries=1, sleep=no_sleep)
    with pytest.raises(ra.RancherError, match="cannot reach Rancher"):
        client.login("admin", PASSWORD)


def test_error_message_names_method_path_and_status():
    def transport(method, url, headers, body, timeout):
        return 422, json.dumps({"type": "error", "message": "bad body"}).encode()

    client = ra.RancherClient("https://r.example", transport, token="t", sleep=no_sleep)
    with pytest.raises(ra.RancherError, match=r"PUT /v3/settings/server-url answered 422: bad body"):
        client.request("PUT", "/v3/settings/server-url", {})


# --- the bootstrap password does not stay the admin password (review k8s M5) -----------------------------------
ADMIN = "admin-password-from-vault-77"


def test_first_login_replaces_the_bootstrap_password(double):
    client = client_for(double)
    res = ra.ensure_api_token(client, "admin", ADMIN, server_url=double.url, bootstrap_password=PASSWORD)
    assert res["password_changed"] is True and res["created"] is True
    assert double.users["admin"] == ADMIN and double.password_changes == ["admin"]
    change = [r for r in double.requests if r[1] == "/v3/users?action=changepassword"]
    assert [r[2] for r in change] == [{"currentPassword": PASSWORD, "newPassword": ADMIN}]
    with pytest.raises(ra.RancherAuthError):
        client_for(double).login("admin", PASSWORD)
    assert double.api_tokens("session") == []  # both logins were logged out
    # the next run keeps the token and changes nothing
    again = ra.ensure_api_token(client_for(double), "admin", ADMIN, existing_token=res["token"],
                                server_url=double.url, bootstrap_password=PASSWORD)
    assert again["password_changed"] is False and again["token_api"] == "existing"
    assert double.password_changes == ["admin"] and double.api_tokens("session") == []


def test_kept_token_does_not_keep_the_bootstrap_password(double):
    """A token stored before the admin password existed: the password is still replaced."""
    token = ra.ensure_api_token(client_for(double), "admin", PASSWORD)["token"]
    res = ra.ensure_api_token(client_for(double), "admin", ADMIN, existing_token=token, bootstrap_password=PASSWORD)
    assert res["password_changed"] is True and res["token_api"] == "existing"
    assert double.users["admin"] == ADMIN and double.api_tokens("session") == []


def test_check_mode_reports_but_does_not_change_the_password(double):
    res = ra.ensure_api_token(client_for(double), "admin", ADMIN, bootstrap_password=PASSWORD, check_mode=True)
    assert res["password_changed"] is True and double.users["admin"] == PASSWORD and double.password_changes == []


def test_neither_password_logs_in_is_a_clear_auth_error(double):
    with pytest.raises(ra.RancherAuthError, match="neither the admin password nor the bootstrap password"):
        ra.ensure_api_token(client_for(double), "admin", ADMIN, bootstrap_password="not-the-bootstrap-1")


def test_admin_password_rancher_refuses_is_reported_and_logged_out(double):
    with pytest.raises(ra.RancherError, match="at least 12 characters") as info:
        ra.ensure_api_token(client_for(double), "admin", "short-pw", bootstrap_password=PASSWORD)
    assert info.value.status == 422 and double.users["admin"] == PASSWORD
    assert double.api_tokens("session") == []
