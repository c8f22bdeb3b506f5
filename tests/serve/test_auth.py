"""--api-key: every route but /health (and the page's static files) needs the Bearer key."""
import httpx
import pytest

pytestmark = pytest.mark.slow
KEY = "sekrit-key"
SPEECH = {"input": "Hello.", "voice": "kumo", "response_format": "wav", "seed": 11}


def routes(url):
    return [("GET", "/v1/models", None), ("GET", "/v1/audio/voices", None),
            ("POST", "/v1/audio/speech", SPEECH)]


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", f"Basic {KEY}", "Bearer",
                                    f"Bearer {KEY}x"])
def test_without_the_key_every_api_route_is_401(auth_server, header):
    headers = {"Authorization": header} if header else {}
    for method, path, body in routes(auth_server.url):
        response = httpx.request(method, auth_server.url + path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["www-authenticate"] == "Bearer"
    upload = httpx.post(auth_server.url + "/v1/voices", headers=headers,
                        files={"file": ("a.wav", b"RIFF", "audio/wav")})
    assert upload.status_code == 401


def test_with_the_key_routes_answer(auth_server):
    headers = {"Authorization": f"Bearer {KEY}"}
    for method, path, body in routes(auth_server.url):
        response = httpx.request(method, auth_server.url + path, json=body, headers=headers,
                                 timeout=120)
        assert response.status_code == 200, (path, response.text)


def test_health_and_page_need_no_key(auth_server):
    health = httpx.get(auth_server.url + "/health")
    assert health.status_code == 200 and health.json()["auth"] is True
    page = httpx.get(auth_server.url + "/")
    assert page.status_code == 200 and "api-key" in page.text and KEY not in page.text
    assert httpx.get(auth_server.url + "/static/app.js").status_code == 200


def test_binds_loopback_by_default():
    from vall_e.serve.__main__ import build_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"
