"""Who may open what: a route × role × village matrix. Out-of-scope objects answer 404."""
import pytest

# (url template, {username: expected status}); ids are filled from the base data set.
MATRIX = [
    ("/", {"admin": 200, "sec_a": 200, "sec_b": 200, "grid_a": 200, "official": 200}),
    ("/villages", {"admin": 200, "sec_a": 200, "sec_b": 200, "grid_a": 200, "official": 200}),
    ("/villages/{yang}", {"admin": 200, "sec_a": 200, "sec_b": 404, "grid_a": 200, "official": 200,
                          "official_east": 404}),
    ("/villages/{shimen}", {"admin": 200, "sec_a": 404, "sec_b": 200, "grid_a": 404, "official": 200}),
    ("/residents", {"admin": 200, "sec_a": 200, "sec_b": 200, "grid_a": 200, "official": 403}),
    ("/residents/{res_a1}", {"admin": 200, "sec_a": 200, "sec_b": 404, "grid_a": 200, "official": 403}),
    ("/residents/{res_a2}", {"admin": 200, "sec_a": 200, "sec_b": 404, "grid_a": 404, "official": 403}),
    ("/residents/{res_b1}", {"admin": 200, "sec_a": 404, "sec_b": 200, "grid_a": 404, "official": 403}),
    ("/residents/{res_a1}/edit", {"admin": 200, "sec_a": 200, "sec_b": 404, "grid_a": 403, "official": 403}),
    ("/villages/{yang}/residents/new", {"admin": 200, "sec_a": 200, "sec_b": 404, "grid_a": 403,
                                        "official": 403}),
    ("/admin/users", {"admin": 200, "sec_a": 403, "grid_a": 403, "official": 403}),
    ("/admin/audit", {"admin": 200, "sec_a": 403, "grid_a": 403, "official": 403}),
]
CASES = [(url, user, status) for url, expected in MATRIX for user, status in expected.items()]


@pytest.mark.parametrize("url,username,status", CASES)
def test_access_matrix(client, login, ids, url, username, status):
    assert login(client, username).status_code == 302
    assert client.get(url.format(**ids)).status_code == status


@pytest.mark.parametrize("url", sorted({url for url, _ in MATRIX} - {"/"}))
def test_anonymous_is_sent_to_login(client, ids, url):
    response = client.get(url.format(**ids))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_every_route_denies_anonymous_by_default(app, client):
    """Any endpoint not explicitly public must redirect an anonymous visitor to the login page."""
    public = {"static", "auth.login", "set_language"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public or "GET" not in rule.methods:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "x").replace(f"<path:{arg}>", "x")
        response = client.get(url)
        assert response.status_code in (302, 404), (rule.endpoint, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], rule.endpoint


def test_grid_worker_list_shows_only_their_grid(client, login):
    login(client, "grid_a")
    page = client.get("/residents").get_data(as_text=True)
    assert "张秀英" in page          # in 一网格/1小组, a sub-grid of their grid
    assert "李德明" not in page      # 二网格
    assert "王桂兰" not in page      # another village


def test_secretary_cannot_edit_a_resident_of_another_village(client, login, ids, db):
    login(client, "sec_b")
    response = client.post(f"/residents/{ids['res_a1']}/edit", data={"name": "改名"})
    assert response.status_code == 404
    assert db.execute("SELECT name FROM residents WHERE id = ?", [ids["res_a1"]]).fetchone()[0] == "张秀英"


def test_official_sees_villages_of_their_township_only(client, login):
    login(client, "official")
    page = client.get("/villages").get_data(as_text=True)
    assert "杨家坪村" in page and "石门村" in page and "东岭村" not in page
