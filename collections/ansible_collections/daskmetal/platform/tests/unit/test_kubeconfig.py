"""Unit tests for module_utils/kubeconfig.py and the kubeconfig_rename filter."""
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.filter.kubeconfig import kubeconfig_rename
from ansible_collections.daskmetal.platform.plugins.module_utils.kubeconfig import (
    KubeconfigError,
    dump_kubeconfig,
    rename_kubeconfig,
)

CA, CERT, KEY = "Q0EtREFUQQ==", "Q0xJRU5ULUNFUlQ=", "Q0xJRU5ULUtFWQ=="

# /etc/rancher/rke2/rke2.yaml as RKE2 v1.33.6+rke2r1 writes it. Its go.mod pins k3s-io/k3s
# v1.33.6-0.20251112023350-94c954b8ac69 (release-1.33) and client-go k3s-io/kubernetes v1.33.5-k3s1.
# - k3s pkg/server/server.go writeKubeConfig: url https://127.0.0.1:<port>, ServerCA, ClientAdminCert/Key;
# - k3s pkg/clientaccess/kubeconfig.go WriteClientKubeConfig: one cluster, one context, one user, all "default",
#   current-context "default", certificate-authority-data / client-certificate-data / client-key-data;
# - kubernetes/client-go v0.33.5 tools/clientcmd/loader.go WriteToFile -> Write -> api/latest Codec (JSON
#   serializer with Yaml: true, so keys sorted); api/v1/types.go: "preferences" has no omitempty (-> {}),
#   AuthInfos are serialized as "users", Context.AuthInfo as "user". Data fields are base64 ([]byte).
RKE2_KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
""".format(ca=CA, cert=CERT, key=KEY)

EXPECTED = RKE2_KUBECONFIG.replace("default", "daskmetal").replace("127.0.0.1", "10.147.17.10")
SERVER = "https://10.147.17.10:6443"


def _resolve(doc):
    """What client-go does: the current context, then the cluster and the user it names (None when missing)."""
    ctx = {c["name"]: c["context"] for c in doc["contexts"]}[doc["current-context"]]
    cluster = {c["name"]: c["cluster"] for c in doc["clusters"]}.get(ctx["cluster"])
    user = {u["name"]: u["user"] for u in doc["users"]}.get(ctx["user"])
    return cluster, user


def test_rke2_layout_is_renamed_consistently():
    out = kubeconfig_rename(RKE2_KUBECONFIG, "daskmetal", SERVER)
    assert out == EXPECTED
    cluster, user = _resolve(yaml.safe_load(out))
    assert cluster == {"certificate-authority-data": CA, "server": SERVER}
    assert user == {"client-certificate-data": CERT, "client-key-data": KEY}


def test_is_idempotent():
    once = kubeconfig_rename(RKE2_KUBECONFIG, "daskmetal", SERVER)
    assert kubeconfig_rename(once, "daskmetal", SERVER) == once


def test_empty_server_keeps_the_url():
    cluster, _ = _resolve(rename_kubeconfig(RKE2_KUBECONFIG, "daskmetal"))
    assert cluster["server"] == "https://127.0.0.1:6443"


def test_dict_input_with_str_subclasses_is_not_modified():
    class Tagged(str):
        pass

    doc = yaml.safe_load(RKE2_KUBECONFIG)
    doc["current-context"] = Tagged("default")
    out = dump_kubeconfig(rename_kubeconfig(doc, "daskmetal", SERVER))
    assert out == EXPECTED
    assert doc["users"][0]["name"] == "default"


def test_other_contexts_follow_the_rename():
    doc = yaml.safe_load(RKE2_KUBECONFIG)
    doc["contexts"].append({"name": "ops", "context": {"cluster": "default", "user": "default", "namespace": "x"}})
    out = rename_kubeconfig(doc, "daskmetal", SERVER)
    assert out["contexts"][1] == {"name": "ops", "context": {"cluster": "daskmetal", "user": "daskmetal",
                                                              "namespace": "x"}}


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["users"][0].update(name="admin"), "users has no entry named 'default'"),
    (lambda d: d["clusters"][0].update(name="other"), "clusters has no entry named 'default'"),
    (lambda d: d.update({"current-context": "nope"}), "contexts has no entry named 'nope'"),
    (lambda d: d.pop("current-context"), "no current-context"),
    (lambda d: d["users"].append({"name": "daskmetal", "user": {}}), "users already has an entry named"),
    (lambda d: d.update(users="x"), "users must be a list"),
    (lambda d: d.update(kind="Pod"), "not a kind Config"),
])
def test_inconsistent_input_is_refused(mutate, message):
    doc = yaml.safe_load(RKE2_KUBECONFIG)
    mutate(doc)
    with pytest.raises(KubeconfigError, match=message):
        rename_kubeconfig(yaml.safe_dump(doc), "daskmetal", SERVER)


@pytest.mark.parametrize("text,name", [("{{ not yaml", "daskmetal"), ("", "daskmetal"), (RKE2_KUBECONFIG, " ")])
def test_filter_raises_filter_errors(text, name):
    with pytest.raises(AnsibleFilterError, match="kubeconfig: "):
        kubeconfig_rename(text, name, SERVER)
