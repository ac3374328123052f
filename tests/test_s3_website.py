"""S3 static website hosting: the configuration through boto3 and the aws CLI, and the website
endpoint (`<bucket>.s3-website.localhost`, or the AWS host names in the Host header) answering
anonymous visitors with index and error documents, redirects and HTML errors, only for what
the bucket makes public."""
import json

import pytest
import requests
from botocore.exceptions import ClientError

PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}],
}


def visit(server, path, host="site.s3-website.localhost", method="GET"):
    """A browser's request to the website endpoint (nuage's port, the website host name)."""
    return requests.request(method, f"{server.endpoint}{path}", headers={"Host": f"{host}:{server.port}"}, allow_redirects=False)


def test_static_site_index_errors_and_redirects(server, s3):
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket="site", Key="docs/index.html", Body=b"<h1>docs</h1>", ContentType="text/html")
    s3.put_object(Bucket="site", Key="404.html", Body=b"<h1>lost</h1>", ContentType="text/html")
    s3.put_object(Bucket="site", Key="old.html", Body=b"", WebsiteRedirectLocation="/index.html")

    # No configuration yet: the endpoint says so, in HTML.
    r = visit(server, "/")
    assert r.status_code == 404 and "NoSuchWebsiteConfiguration" in r.text and r.headers["content-type"].startswith("text/html")
    with pytest.raises(ClientError) as e:
        s3.get_bucket_website(Bucket="site")
    assert e.value.response["Error"]["Code"] == "NoSuchWebsiteConfiguration"

    config = {
        "IndexDocument": {"Suffix": "index.html"},
        "ErrorDocument": {"Key": "404.html"},
        "RoutingRules": [
            {"Condition": {"KeyPrefixEquals": "blog/"}, "Redirect": {"ReplaceKeyPrefixWith": "docs/", "HttpRedirectCode": "302"}},
            {"Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "shop/"}, "Redirect": {"HostName": "shop.example.com"}},
        ],
    }
    s3.put_bucket_website(Bucket="site", WebsiteConfiguration=config)
    got = s3.get_bucket_website(Bucket="site")
    assert got["IndexDocument"] == {"Suffix": "index.html"} and got["ErrorDocument"] == {"Key": "404.html"}
    assert got["RoutingRules"][0]["Redirect"]["ReplaceKeyPrefixWith"] == "docs/"

    # Not public yet: the visitor is refused, and sees no page of the site.
    r = visit(server, "/")
    assert r.status_code == 403 and "AccessDenied" in r.text

    s3.put_bucket_policy(Bucket="site", Policy=json.dumps(PUBLIC_READ))
    r = visit(server, "/")
    assert r.status_code == 200 and r.text == "<h1>home</h1>" and r.headers["content-type"] == "text/html"
    assert visit(server, "/docs/").text == "<h1>docs</h1>"
    r = visit(server, "/docs")
    assert r.status_code == 302 and r.headers["location"] == "/docs/"
    r = visit(server, "/missing.html")
    assert r.status_code == 404 and r.text == "<h1>lost</h1>"
    r = visit(server, "/old.html")
    assert r.status_code == 301 and r.headers["location"] == "/index.html"
    r = visit(server, "/blog/post.html")
    assert r.status_code == 302 and r.headers["location"].endswith("/docs/post.html")
    r = visit(server, "/shop/cart.html")
    assert r.status_code == 301 and r.headers["location"] == "http://shop.example.com/shop/cart.html"
    assert visit(server, "/", method="HEAD").status_code == 200
    assert visit(server, "/", method="POST").status_code == 405
    # The AWS host names reach the same site.
    assert visit(server, "/", host="site.s3-website-us-east-1.amazonaws.com").text == "<h1>home</h1>"
    assert visit(server, "/", host="site.s3-website.us-east-1.amazonaws.com").text == "<h1>home</h1>"
    r = visit(server, "/", host="nosuchsite.s3-website.localhost")
    assert r.status_code == 404 and "NoSuchBucket" in r.text

    # A whole-site redirect; invalid configurations refused; deletion.
    s3.put_bucket_website(Bucket="site", WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}})
    r = visit(server, "/a/b.html")
    assert r.status_code == 301 and r.headers["location"] == "https://www.example.com/a/b.html"
    for bad in [
        {"IndexDocument": {"Suffix": "a/index.html"}},
        {"ErrorDocument": {"Key": "404.html"}},
        {"RedirectAllRequestsTo": {"HostName": "x.example.com"}, "IndexDocument": {"Suffix": "index.html"}},
        {"IndexDocument": {"Suffix": "index.html"}, "RoutingRules": [{"Redirect": {"ReplaceKeyWith": "a", "ReplaceKeyPrefixWith": "b"}}]},
    ]:
        with pytest.raises(ClientError) as e:
            s3.put_bucket_website(Bucket="site", WebsiteConfiguration=bad)
        assert e.value.response["Error"]["Code"] == "InvalidArgument", bad
    s3.delete_bucket_website(Bucket="site")
    assert visit(server, "/").status_code == 404


def test_website_with_the_cli(server, tmp_path):
    server.cli("s3", "mb", "s3://clisite")
    page = tmp_path / "index.html"
    page.write_text("<p>from the cli</p>")
    server.cli("s3", "cp", str(page), "s3://clisite/index.html", "--content-type", "text/html")
    server.cli("s3", "website", "s3://clisite", "--index-document", "index.html", "--error-document", "error.html")
    server.cli("s3api", "put-bucket-policy", "--bucket", "clisite", "--policy", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::clisite/*"}],
    }))
    out = json.loads(server.cli("s3api", "get-bucket-website", "--bucket", "clisite").stdout)
    assert out["IndexDocument"]["Suffix"] == "index.html" and out["ErrorDocument"]["Key"] == "error.html"
    assert visit(server, "/", host="clisite.s3-website.localhost").text == "<p>from the cli</p>"
    r = visit(server, "/nope", host="clisite.s3-website.localhost")
    assert r.status_code == 404 and "NoSuchKey" in r.text
