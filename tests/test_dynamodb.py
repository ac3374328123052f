"""DynamoDB with boto3 and the aws CLI: tables and indexes, items and expressions, queries and
scans, batches and transactions, capacity computed as the developer guide documents it,
throttling, TTL, durability and IAM."""
import decimal
import math
import time

import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from conftest import Nuage


def code(e):
    return e.value.response["Error"]["Code"]


def message(e):
    return e.value.response["Error"]["Message"]


# ---- The documented size and capacity rules, written independently of the server ----------

def number_size(text):
    """1 byte per two significant digits (leading and trailing zeros trimmed), plus 1."""
    d = decimal.Decimal(text)
    if d == 0:
        return 1
    digits = "".join(map(str, d.normalize().as_tuple().digits)).strip("0")
    return math.ceil(len(digits) / 2) + 1


def value_size(v):
    (t, x), = v.items()
    if t == "S":
        return len(x.encode())
    if t == "N":
        return number_size(x)
    if t == "B":
        return len(x)
    if t in ("BOOL", "NULL"):
        return 1
    if t == "SS":
        return sum(len(s.encode()) for s in x)
    if t == "NS":
        return sum(number_size(n) for n in x)
    if t == "BS":
        return sum(len(b) for b in x)
    if t == "L":
        return 3 + sum(value_size(e) + 1 for e in x)
    if t == "M":
        return 3 + sum(len(k.encode()) + value_size(e) + 1 for k, e in x.items())
    raise AssertionError(t)


def item_size(item):
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


def rcu(size, strong=False, transactional=False):
    units = max(1, math.ceil(size / 4096))
    return units * 2 if transactional else units if strong else units / 2


def wcu(size, transactional=False):
    units = max(1, math.ceil(size / 1024))
    return units * 2 if transactional else units


def make_table(d, name, hash_type="S", range_type=None, rcu_=5, wcu_=5, **extra):
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": hash_type}]
    if range_type:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": range_type})
    attrs += extra.pop("more_attrs", [])
    if rcu_ is None:
        extra["BillingMode"] = "PAY_PER_REQUEST"
    else:
        extra["ProvisionedThroughput"] = {"ReadCapacityUnits": rcu_, "WriteCapacityUnits": wcu_}
    return d.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, **extra)


@pytest.fixture
def ddb(server):
    return server.client("dynamodb")


def test_table_lifecycle_and_errors(ddb):
    out = make_table(ddb, "orders", range_type="N", Tags=[{"Key": "team", "Value": "data"}], DeletionProtectionEnabled=True)
    desc = out["TableDescription"]
    assert desc["TableStatus"] == "CREATING"
    assert desc["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
    ddb.get_waiter("table_exists").wait(TableName="orders", WaiterConfig={"Delay": 1})
    d = ddb.describe_table(TableName="orders")["Table"]
    assert d["TableStatus"] == "ACTIVE" and d["ItemCount"] == 0
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5 and d["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]

    with pytest.raises(ClientError) as e:
        make_table(ddb, "orders")
    assert code(e) == "ResourceInUseException"
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName="nothere")
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.create_table(TableName="bad", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        make_table(ddb, "x")
    assert code(e) == "ValidationException" and "length greater than or equal to 3" in message(e)

    for n in ["a01", "a02", "a03"]:
        make_table(ddb, n, rcu_=None)
    page = ddb.list_tables(Limit=2)
    assert page["TableNames"] == ["a01", "a02"] and page["LastEvaluatedTableName"] == "a02"
    assert ddb.list_tables(ExclusiveStartTableName="a02")["TableNames"] == ["a03", "orders"]

    up = ddb.update_table(TableName="orders", ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 2})
    assert up["TableDescription"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName="orders", ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 2})
    assert code(e) == "ValidationException" and "will not change" in message(e)

    assert ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"] == [{"Key": "team", "Value": "data"}]
    with pytest.raises(ClientError) as e:
        ddb.delete_table(TableName="orders")
    assert code(e) == "ValidationException" and "protected against deletion" in message(e)
    ddb.update_table(TableName="orders", DeletionProtectionEnabled=False)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert ddb.delete_table(TableName="orders")["TableDescription"]["TableStatus"] == "DELETING"
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert code(e) == "ResourceNotFoundException"
    # A table made again under the same name starts empty.
    make_table(ddb, "orders", range_type="N")
    assert ddb.scan(TableName="orders")["Count"] == 0


def test_items_expressions_and_validation(ddb):
    make_table(ddb, "users", rcu_=None)
    ddb.put_item(TableName="users", Item={"pk": {"S": "u1"}, "name": {"S": "Ada"}, "visits": {"N": "01.50"},
                                          "tags": {"SS": ["a", "b"]}, "prev": {"SS": ["a", "x"]}, "profile": {"M": {"city": {"S": "Paris"}, "langs": {"L": [{"S": "fr"}]}}}})
    item = ddb.get_item(TableName="users", Key={"pk": {"S": "u1"}})["Item"]
    assert item["visits"] == {"N": "1.5"}  # numbers come back canonical
    assert ddb.get_item(TableName="users", Key={"pk": {"S": "u1"}}, ProjectionExpression="profile.city, #n",
                        ExpressionAttributeNames={"#n": "name"})["Item"] == {"profile": {"M": {"city": {"S": "Paris"}}}, "name": {"S": "Ada"}}

    out = ddb.update_item(
        TableName="users", Key={"pk": {"S": "u1"}},
        UpdateExpression="SET visits = visits + :one, profile.langs = list_append(profile.langs, :en), #s = if_not_exists(#s, :new) "
                         "REMOVE #n ADD tags :c DELETE prev :a",
        ExpressionAttributeNames={"#s": "status", "#n": "name"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":en": {"L": [{"S": "en"}]}, ":new": {"S": "new"},
                                   ":c": {"SS": ["c"]}, ":a": {"SS": ["a"]}},
        ReturnValues="ALL_NEW")["Attributes"]
    assert out["visits"] == {"N": "2.5"} and out["status"] == {"S": "new"} and "name" not in out
    assert out["profile"]["M"]["langs"] == {"L": [{"S": "fr"}, {"S": "en"}]}
    assert sorted(out["tags"]["SS"]) == ["a", "b", "c"] and out["prev"] == {"SS": ["x"]}
    upd = ddb.update_item(TableName="users", Key={"pk": {"S": "u1"}}, UpdateExpression="SET visits = :v",
                          ExpressionAttributeValues={":v": {"N": "7"}}, ReturnValues="UPDATED_OLD")
    assert upd["Attributes"] == {"visits": {"N": "2.5"}}

    # Conditions: a failed one changes nothing, and can return the item.
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="users", Item={"pk": {"S": "u1"}}, ConditionExpression="attribute_not_exists(pk)",
                     ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert code(e) == "ConditionalCheckFailedException" and e.value.response["Item"]["visits"] == {"N": "7"}
    ddb.delete_item(TableName="users", Key={"pk": {"S": "u1"}}, ConditionExpression="visits BETWEEN :lo AND :hi AND size(tags) = :two",
                    ExpressionAttributeValues={":lo": {"N": "5"}, ":hi": {"N": "10"}, ":two": {"N": "3"}})
    assert "Item" not in ddb.get_item(TableName="users", Key={"pk": {"S": "u1"}})

    def refused(fn, fragment, **kw):
        with pytest.raises(ClientError) as e:
            fn(TableName="users", **kw)
        assert code(e) == "ValidationException", message(e)
        assert fragment in message(e), message(e)

    refused(ddb.update_item, "reserved keyword: status", Key={"pk": {"S": "u"}}, UpdateExpression="SET status = :v",
            ExpressionAttributeValues={":v": {"S": "x"}})
    refused(ddb.update_item, "unused in expressions: keys: {:w}", Key={"pk": {"S": "u"}}, UpdateExpression="SET a = :v",
            ExpressionAttributeValues={":v": {"S": "x"}, ":w": {"S": "y"}})
    refused(ddb.update_item, "attribute value: :nope", Key={"pk": {"S": "u"}}, UpdateExpression="SET a = :nope",
            ExpressionAttributeValues={":v": {"S": "x"}})
    refused(ddb.update_item, "Syntax error", Key={"pk": {"S": "u"}}, UpdateExpression="SET a =",
            ExpressionAttributeValues={":v": {"S": "x"}})
    refused(ddb.update_item, "Two document paths overlap", Key={"pk": {"S": "u"}}, UpdateExpression="SET a = :v REMOVE a.b",
            ExpressionAttributeValues={":v": {"S": "x"}})
    refused(ddb.update_item, "part of the key", Key={"pk": {"S": "u"}}, UpdateExpression="SET pk = :v",
            ExpressionAttributeValues={":v": {"S": "x"}})
    refused(ddb.update_item, "incorrect data type", Key={"pk": {"S": "u"}}, UpdateExpression="SET a = :v + :v",
            ExpressionAttributeValues={":v": {"S": "x"}})
    refused(ddb.put_item, "Missing the key pk", Item={"other": {"S": "x"}})
    refused(ddb.put_item, "Type mismatch for key pk", Item={"pk": {"N": "1"}})
    refused(ddb.put_item, "empty string value", Item={"pk": {"S": ""}})
    refused(ddb.get_item, "does not match the schema", Key={"pk": {"S": "u"}, "extra": {"S": "x"}})
    refused(ddb.put_item, "more than 38 significant digits", Item={"pk": {"S": "n"}, "n": {"N": "1" * 39}})
    refused(ddb.put_item, "cannot be converted", Item={"pk": {"S": "n"}, "n": {"N": "twelve"}})
    refused(ddb.put_item, "contains duplicates", Item={"pk": {"S": "n"}, "s": {"SS": ["a", "a"]}})
    refused(ddb.put_item, "maximum allowed size", Item={"pk": {"S": "big"}, "v": {"S": "x" * (400 * 1024)}})
    refused(ddb.put_item, "can only be specified when using expressions", Item={"pk": {"S": "n"}},
            ExpressionAttributeValues={":v": {"S": "x"}})
    # A 38-digit number and DynamoDB's range limits are kept exactly.
    ddb.put_item(TableName="users", Item={"pk": {"S": "n"}, "n": {"N": "9" * 38}, "tiny": {"N": "1E-130"}})
    got = ddb.get_item(TableName="users", Key={"pk": {"S": "n"}})["Item"]
    assert got["n"] == {"N": "9" * 38} and decimal.Decimal(got["tiny"]["N"]) == decimal.Decimal("1E-130")
    # Arithmetic is exact decimal arithmetic.
    ddb.update_item(TableName="users", Key={"pk": {"S": "n"}}, UpdateExpression="SET m = :a + :b",
                    ExpressionAttributeValues={":a": {"N": "0.1"}, ":b": {"N": "0.2"}})
    assert ddb.get_item(TableName="users", Key={"pk": {"S": "n"}})["Item"]["m"] == {"N": "0.3"}


def test_query_orders_and_pages(ddb):
    make_table(ddb, "events", range_type="N", rcu_=None)
    values = ["-1e10", "-12.5", "-2", "0", "0.001", "1", "2", "10", "100", "1e20"]
    with_batch = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": v}, "kind": {"S": "even" if i % 2 == 0 else "odd"}}}}
                  for i, v in enumerate(values)]
    assert ddb.batch_write_item(RequestItems={"events": with_batch})["UnprocessedItems"] == {}
    ddb.put_item(TableName="events", Item={"pk": {"S": "other"}, "sk": {"N": "5"}})

    q = ddb.query(TableName="events", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert [decimal.Decimal(i["sk"]["N"]) for i in q["Items"]] == sorted(decimal.Decimal(v) for v in values)
    back = ddb.query(TableName="events", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                     ScanIndexForward=False)
    assert back["Items"] == list(reversed(q["Items"]))
    between = ddb.query(TableName="events", KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                        ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"N": "-2"}, ":b": {"N": "10"}})
    assert [i["sk"]["N"] for i in between["Items"]] == ["-2", "0", "0.001", "1", "2", "10"]
    # The filter runs after the read: ScannedCount counts what was read.
    f = ddb.query(TableName="events", KeyConditionExpression="pk = :p AND sk > :z", FilterExpression="kind = :k",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":z": {"N": "0"}, ":k": {"S": "odd"}})
    assert f["ScannedCount"] == 6 and [i["sk"]["N"] for i in f["Items"]] == ["1", "10", "1" + "0" * 20]
    assert ddb.query(TableName="events", KeyConditionExpression="pk = :p", Select="COUNT",
                     ExpressionAttributeValues={":p": {"S": "p"}})["Count"] == 10

    # Pages of Limit items chain through LastEvaluatedKey.
    pages = list(ddb.get_paginator("query").paginate(TableName="events", KeyConditionExpression="pk = :p",
                                                     ExpressionAttributeValues={":p": {"S": "p"}}, Limit=3))
    assert [len(p["Items"]) for p in pages] == [3, 3, 3, 1]
    assert [i for p in pages for i in p["Items"]] == q["Items"]

    def refused(fragment, **kw):
        with pytest.raises(ClientError) as e:
            ddb.query(TableName="events", **kw)
        assert code(e) == "ValidationException" and fragment in message(e), message(e)

    refused("missed key schema element: pk", KeyConditionExpression="sk = :v", ExpressionAttributeValues={":v": {"N": "1"}})
    refused("Filter Expression can only contain non-primary key attributes", KeyConditionExpression="pk = :p",
            FilterExpression="sk > :v", ExpressionAttributeValues={":p": {"S": "p"}, ":v": {"N": "1"}})
    refused("KeyConditionExpression", KeyConditionExpression="pk = :p OR sk = :v",
            ExpressionAttributeValues={":p": {"S": "p"}, ":v": {"N": "1"}})
    refused("operator or function: begins_with", KeyConditionExpression="pk = :p AND begins_with(sk, :v)",
            ExpressionAttributeValues={":p": {"S": "p"}, ":v": {"N": "1"}})
    refused("does not match schema type", KeyConditionExpression="pk = :p AND sk > :v",
            ExpressionAttributeValues={":p": {"S": "p"}, ":v": {"S": "1"}})

    # Strings sort by UTF-8 bytes; begins_with selects a contiguous range.
    make_table(ddb, "words", range_type="S", rcu_=None)
    words = ["b", "a", "ab", "B", "é", "abc", "a\u0000"]
    for w in words:
        ddb.put_item(TableName="words", Item={"pk": {"S": "w"}, "sk": {"S": w}})
    got = [i["sk"]["S"] for i in ddb.query(TableName="words", KeyConditionExpression="pk = :p",
                                           ExpressionAttributeValues={":p": {"S": "w"}})["Items"]]
    assert got == sorted(words, key=lambda s: s.encode())
    pre = ddb.query(TableName="words", KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                    ExpressionAttributeValues={":p": {"S": "w"}, ":b": {"S": "ab"}})
    assert [i["sk"]["S"] for i in pre["Items"]] == ["ab", "abc"]


def test_scan_segments_and_the_one_megabyte_page(ddb):
    make_table(ddb, "blobs", rcu_=None)
    big = "x" * 100_000
    for i in range(25):
        ddb.put_item(TableName="blobs", Item={"pk": {"S": f"k{i:02}"}, "v": {"S": big}})
    first = ddb.scan(TableName="blobs")
    # A page stops once 1 MB has been read: 11 items of ~100 KB.
    assert first["Count"] == 11 and "LastEvaluatedKey" in first
    allitems = [i for p in ddb.get_paginator("scan").paginate(TableName="blobs") for i in p["Items"]]
    assert len(allitems) == 25
    seg = []
    for s in range(4):
        for p in ddb.get_paginator("scan").paginate(TableName="blobs", Segment=s, TotalSegments=4, ProjectionExpression="pk"):
            seg += [i["pk"]["S"] for i in p["Items"]]
    assert sorted(seg) == sorted(i["pk"]["S"] for i in allitems)
    with pytest.raises(ClientError) as e:
        ddb.scan(TableName="blobs", Segment=4, TotalSegments=4)
    assert code(e) == "ValidationException"


def test_secondary_indexes(ddb, server):
    ddb.create_table(
        TableName="games",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "score", "AttributeType": "N"}, {"AttributeName": "title", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": "by_title", "KeySchema": [{"AttributeName": "title", "KeyType": "HASH"},
                                                                        {"AttributeName": "score", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        LocalSecondaryIndexes=[{"IndexName": "by_score", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                       {"AttributeName": "score", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["level"]}}],
    )
    rows = [("alice", "g1", "chess", 30, 2), ("bob", "g2", "chess", 10, 1), ("carol", "g3", "go", 20, 5), ("dan", "g4", None, 5, 3)]
    for pk, sk, title, score, level in rows:
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "score": {"N": str(score)}, "level": {"N": str(level)}, "note": {"S": "n"}}
        if title:
            item["title"] = {"S": title}
        ddb.put_item(TableName="games", Item=item)
    chess = ddb.query(TableName="games", IndexName="by_title", KeyConditionExpression="title = :t",
                      ExpressionAttributeValues={":t": {"S": "chess"}})
    # KEYS_ONLY: the index and table keys, in index order.
    assert chess["Items"] == [{"title": {"S": "chess"}, "score": {"N": "10"}, "pk": {"S": "bob"}, "sk": {"S": "g2"}},
                              {"title": {"S": "chess"}, "score": {"N": "30"}, "pk": {"S": "alice"}, "sk": {"S": "g1"}}]
    # Sparse: an item without the index key is not in the index.
    assert ddb.scan(TableName="games", IndexName="by_title")["Count"] == 3
    with pytest.raises(ClientError) as e:
        ddb.query(TableName="games", IndexName="by_title", KeyConditionExpression="title = :t", Select="ALL_ATTRIBUTES",
                  ExpressionAttributeValues={":t": {"S": "chess"}})
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.query(TableName="games", IndexName="by_title", KeyConditionExpression="title = :t", ConsistentRead=True,
                  ExpressionAttributeValues={":t": {"S": "chess"}})
    assert code(e) == "ValidationException"
    # Changing the index key moves the entry.
    ddb.update_item(TableName="games", Key={"pk": {"S": "bob"}, "sk": {"S": "g2"}}, UpdateExpression="SET title = :g",
                    ExpressionAttributeValues={":g": {"S": "go"}})
    go = ddb.query(TableName="games", IndexName="by_title", KeyConditionExpression="title = :t",
                   ExpressionAttributeValues={":t": {"S": "go"}})
    assert [i["pk"]["S"] for i in go["Items"]] == ["bob", "carol"]
    # The LSI projects `level`, and fetches everything else when asked for all attributes.
    lsi = ddb.query(TableName="games", IndexName="by_score", KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "alice"}})
    assert lsi["Items"] == [{"pk": {"S": "alice"}, "sk": {"S": "g1"}, "score": {"N": "30"}, "level": {"N": "2"}}]
    full = ddb.query(TableName="games", IndexName="by_score", KeyConditionExpression="pk = :p", Select="ALL_ATTRIBUTES",
                     ExpressionAttributeValues={":p": {"S": "alice"}})
    assert full["Items"][0]["note"] == {"S": "n"}
    # A table with an LSI has item collections: their size comes back when asked for.
    m = ddb.put_item(TableName="games", Item={"pk": {"S": "alice"}, "sk": {"S": "g9"}, "score": {"N": "1"}},
                     ReturnItemCollectionMetrics="SIZE")["ItemCollectionMetrics"]
    assert m == {"ItemCollectionKey": {"pk": {"S": "alice"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    b = ddb.batch_write_item(RequestItems={"games": [{"DeleteRequest": {"Key": {"pk": {"S": "alice"}, "sk": {"S": "g9"}}}}]},
                             ReturnItemCollectionMetrics="SIZE")
    assert b["ItemCollectionMetrics"]["games"][0]["ItemCollectionKey"] == {"pk": {"S": "alice"}}

    # A GSI added later is backfilled while it is CREATING, then ACTIVE.
    ddb.update_table(TableName="games", AttributeDefinitions=[{"AttributeName": "level", "AttributeType": "N"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by_level", "KeySchema": [
                         {"AttributeName": "level", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}])
    deadline = time.time() + 10
    while time.time() < deadline:
        gsis = {g["IndexName"]: g for g in ddb.describe_table(TableName="games")["Table"]["GlobalSecondaryIndexes"]}
        if gsis["by_level"]["IndexStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    assert gsis["by_level"]["IndexStatus"] == "ACTIVE" and gsis["by_level"]["ItemCount"] == 4
    five = ddb.query(TableName="games", IndexName="by_level", KeyConditionExpression="#l = :l",
                     ExpressionAttributeNames={"#l": "level"}, ExpressionAttributeValues={":l": {"N": "5"}})
    assert [i["pk"]["S"] for i in five["Items"]] == ["carol"]
    ddb.update_table(TableName="games", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_level"}}])
    with pytest.raises(ClientError) as e:
        ddb.query(TableName="games", IndexName="by_level", KeyConditionExpression="#l = :l",
                  ExpressionAttributeNames={"#l": "level"}, ExpressionAttributeValues={":l": {"N": "5"}})
    assert code(e) == "ValidationException"


def test_capacity_at_the_rounding_boundaries(ddb):
    make_table(ddb, "cap", rcu_=1000, wcu_=1000, more_attrs=[{"AttributeName": "g", "AttributeType": "S"}],
               GlobalSecondaryIndexes=[{"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                        "Projection": {"ProjectionType": "ALL"},
                                        "ProvisionedThroughput": {"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1000}}])

    def put(item, **kw):
        return ddb.put_item(TableName="cap", Item=item, ReturnConsumedCapacity="INDEXES", **kw)["ConsumedCapacity"]

    def padded(key, size, **more):
        """An item of exactly `size` bytes by the documented rules."""
        item = {"pk": {"S": key}, **more}
        item["v"] = {"S": ""}
        item["v"] = {"S": "x" * (size - item_size(item))}
        assert item_size(item) == size
        return item

    cases = [1024, 1025, 4096, 4097, 10_000]
    for size in cases:
        c = put(padded(f"w{size}", size))
        assert c == {"TableName": "cap", "CapacityUnits": wcu(size), "Table": {"CapacityUnits": wcu(size)}}, (size, c)
        assert "GlobalSecondaryIndexes" not in c  # no `g`: not in the sparse index
        for strong in (True, False):
            g = ddb.get_item(TableName="cap", Key={"pk": {"S": f"w{size}"}}, ConsistentRead=strong, ReturnConsumedCapacity="TOTAL")
            assert g["ConsumedCapacity"]["CapacityUnits"] == rcu(size, strong=strong), (size, strong)
    # A missing item still costs a read; a delete costs the deleted item's size.
    miss = ddb.get_item(TableName="cap", Key={"pk": {"S": "none"}}, ReturnConsumedCapacity="TOTAL")
    assert miss["ConsumedCapacity"] == {"TableName": "cap", "CapacityUnits": 0.5}
    d = ddb.delete_item(TableName="cap", Key={"pk": {"S": "w4097"}}, ReturnConsumedCapacity="TOTAL")
    assert d["ConsumedCapacity"]["CapacityUnits"] == wcu(4097)
    # An overwrite costs the larger of the old and new item.
    assert put(padded("w10000", 100))["CapacityUnits"] == wcu(10_000)
    # Numbers by significant digits, nested maps and lists by their overheads.
    nested = {"pk": {"S": "n"}, "num": {"N": "123456789012345678901234567890.123"}, "zeros": {"N": "1000000"},
              "m": {"M": {"a": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}, "bb": {"M": {}}}},
              "ns": {"NS": ["1", "22", "333"]}, "b": {"B": b"\x00\x01\x02"}}
    size = item_size(nested)
    assert put(nested)["CapacityUnits"] == wcu(size)
    g = ddb.get_item(TableName="cap", Key={"pk": {"S": "n"}}, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert g["ConsumedCapacity"]["CapacityUnits"] == rcu(size, strong=True)

    # GSI writes: entry added (1 write), key changed (2), removed (1); unchanged projection (0).
    c = put(padded("gsi", 2000, g={"S": "one"}))
    assert c["GlobalSecondaryIndexes"]["gidx"]["CapacityUnits"] == wcu(2000) and c["CapacityUnits"] == 2 * wcu(2000)
    c = ddb.update_item(TableName="cap", Key={"pk": {"S": "gsi"}}, UpdateExpression="SET g = :t",
                        ExpressionAttributeValues={":t": {"S": "two"}}, ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert c["GlobalSecondaryIndexes"]["gidx"]["CapacityUnits"] == 2 * wcu(2000)
    c = ddb.update_item(TableName="cap", Key={"pk": {"S": "gsi"}}, UpdateExpression="REMOVE g",
                        ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert c["GlobalSecondaryIndexes"]["gidx"]["CapacityUnits"] == wcu(2000)

    # A refused conditional write is still charged.
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="cap", Item={"pk": {"S": "w1024"}}, ConditionExpression="attribute_not_exists(pk)",
                     ReturnConsumedCapacity="TOTAL")
    assert code(e) == "ConditionalCheckFailedException"

    # Batches round each item on its own; a query rounds the sum of what it read.
    b = ddb.batch_get_item(RequestItems={"cap": {"Keys": [{"pk": {"S": "w1025"}}, {"pk": {"S": "w4096"}}], "ConsistentRead": True}},
                           ReturnConsumedCapacity="TOTAL")
    assert b["ConsumedCapacity"] == [{"TableName": "cap", "CapacityUnits": rcu(1025, True) + rcu(4096, True)}]
    make_table(ddb, "capq", range_type="N", rcu_=None)
    sizes = []
    for i in range(5):
        item = {"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"S": "y" * 1500}}
        sizes.append(item_size(item))
        ddb.put_item(TableName="capq", Item=item)
    q = ddb.query(TableName="capq", KeyConditionExpression="pk = :p", FilterExpression="v = :none",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":none": {"S": "z"}}, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert q["Count"] == 0 and q["ScannedCount"] == 5
    assert q["ConsumedCapacity"]["CapacityUnits"] == rcu(sum(sizes), strong=True)

    # Transactions cost double.
    t = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "capq", "Item": {"pk": {"S": "t"}, "sk": {"N": "1"}, "v": {"S": "z" * 1100}}}}],
                                 ReturnConsumedCapacity="TOTAL")
    size = item_size({"pk": {"S": "t"}, "sk": {"N": "1"}, "v": {"S": "z" * 1100}})
    assert t["ConsumedCapacity"] == [{"TableName": "capq", "CapacityUnits": wcu(size, transactional=True),
                                      "WriteCapacityUnits": wcu(size, transactional=True)}]
    tg = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "capq", "Key": {"pk": {"S": "t"}, "sk": {"N": "1"}}}}],
                                ReturnConsumedCapacity="TOTAL")
    assert tg["ConsumedCapacity"][0]["CapacityUnits"] == rcu(size, transactional=True)


def test_provisioned_throughput_is_enforced(ddb):
    make_table(ddb, "tiny", rcu_=1, wcu_=1)
    item = {"pk": {"S": "k"}, "v": {"S": "x" * 900}}
    throttled_at = None
    # A new table's burst capacity (300 seconds of 1 WCU), then throttling.
    for n in range(400):
        try:
            ddb.put_item(TableName="tiny", Item=item)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            assert e.response["ThrottlingReasons"][0]["reason"] == "TableWriteProvisionedThroughputExceeded"
            throttled_at = n
            break
    assert throttled_at is not None and 250 <= throttled_at <= 310, throttled_at
    # Reads have their own capacity.
    ddb.get_item(TableName="tiny", Key={"pk": {"S": "k"}})
    time.sleep(2.2)
    ddb.put_item(TableName="tiny", Item=item)


def test_batches_and_transactions(ddb):
    make_table(ddb, "acct", rcu_=None)
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={"acct": [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(26)]})
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={"acct": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}},
                                                    {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]})
    assert code(e) == "ValidationException" and "duplicates" in message(e)
    ddb.batch_write_item(RequestItems={"acct": [{"PutRequest": {"Item": {"pk": {"S": n}, "bal": {"N": "100"}}}} for n in ("a", "b")]})
    got = ddb.batch_get_item(RequestItems={"acct": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}, {"pk": {"S": "zz"}}]}})
    assert sorted(i["pk"]["S"] for i in got["Responses"]["acct"]) == ["a", "b"] and got["UnprocessedKeys"] == {}

    transfer = [
        {"Update": {"TableName": "acct", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET bal = bal - :x",
                    "ConditionExpression": "bal >= :x", "ExpressionAttributeValues": {":x": {"N": "150"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": "acct", "Key": {"pk": {"S": "b"}}, "UpdateExpression": "SET bal = bal + :x",
                    "ExpressionAttributeValues": {":x": {"N": "150"}}}},
    ]
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=transfer)
    assert code(e) == "TransactionCanceledException"
    reasons = e.value.response["CancellationReasons"]
    assert reasons[0]["Code"] == "ConditionalCheckFailed" and reasons[0]["Item"]["bal"] == {"N": "100"}
    assert reasons[1]["Code"] == "None"
    # Nothing of a cancelled transaction was kept.
    assert ddb.get_item(TableName="acct", Key={"pk": {"S": "b"}})["Item"]["bal"] == {"N": "100"}

    transfer[0]["Update"]["ExpressionAttributeValues"] = {":x": {"N": "60"}}
    transfer[1]["Update"]["ExpressionAttributeValues"] = {":x": {"N": "60"}}
    ddb.transact_write_items(TransactItems=transfer, ClientRequestToken="tok-1")
    # The same token with the same request is not applied twice.
    ddb.transact_write_items(TransactItems=transfer, ClientRequestToken="tok-1")
    res = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "acct", "Key": {"pk": {"S": n}}}} for n in ("a", "b")])
    assert [r["Item"]["bal"]["N"] for r in res["Responses"]] == ["40", "160"]
    transfer[0]["Update"]["ExpressionAttributeValues"] = {":x": {"N": "1"}}
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=transfer, ClientRequestToken="tok-1")
    assert code(e) == "IdempotentParameterMismatchException"
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[transfer[1], transfer[1]])
    assert code(e) == "ValidationException" and "multiple operations on one item" in message(e)


def test_ttl_durability_and_the_cli(tmp_path):
    n = Nuage(str(tmp_path), ["--ttl-interval", "1"]).start()
    try:
        ddb = n.client("dynamodb")
        make_table(ddb, "sessions", rcu_=None)
        ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        assert ddb.describe_time_to_live(TableName="sessions")["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
        now = int(time.time())
        ddb.put_item(TableName="sessions", Item={"pk": {"S": "old"}, "exp": {"N": str(now - 10)}})
        ddb.put_item(TableName="sessions", Item={"pk": {"S": "new"}, "exp": {"N": str(now + 3600)}})
        deadline = time.time() + 10
        while time.time() < deadline and "Item" in ddb.get_item(TableName="sessions", Key={"pk": {"S": "old"}}):
            time.sleep(0.2)
        assert "Item" not in ddb.get_item(TableName="sessions", Key={"pk": {"S": "old"}})
        assert "Item" in ddb.get_item(TableName="sessions", Key={"pk": {"S": "new"}})

        # An acknowledged write survives kill -9.
        ddb.put_item(TableName="sessions", Item={"pk": {"S": "durable"}, "v": {"N": "1"}})
        n.kill()
        n.start()
        ddb = n.client("dynamodb")
        assert ddb.get_item(TableName="sessions", Key={"pk": {"S": "durable"}})["Item"]["v"] == {"N": "1"}
        assert ddb.describe_table(TableName="sessions")["Table"]["ItemCount"] == 2

        r = n.cli("dynamodb", "put-item", "--table-name", "sessions", "--item", '{"pk": {"S": "cli"}, "n": {"N": "5"}}')
        assert r.returncode == 0, r.stderr
        r = n.cli("dynamodb", "get-item", "--table-name", "sessions", "--key", '{"pk": {"S": "cli"}}', "--output", "json")
        assert '"N": "5"' in r.stdout
    finally:
        n.kill()


def test_iam_fine_grained_access(server):
    iam = server.client("iam")
    ddb = server.client("dynamodb")
    make_table(ddb, "notes", range_type="S", rcu_=None)
    ddb.put_item(TableName="notes", Item={"pk": {"S": "ana"}, "sk": {"S": "1"}})
    ddb.put_item(TableName="notes", Item={"pk": {"S": "ben"}, "sk": {"S": "1"}})
    iam.create_user(UserName="ana")
    key = iam.create_access_key(UserName="ana")["AccessKey"]
    iam.put_user_policy(UserName="ana", PolicyName="own", PolicyDocument="""{
      "Version": "2012-10-17",
      "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
                     "Resource": "arn:aws:dynamodb:*:*:table/notes",
                     "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ana"]}}}]}""")
    ana = server.client("dynamodb", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert ana.get_item(TableName="notes", Key={"pk": {"S": "ana"}, "sk": {"S": "1"}})["Item"]
    assert ana.query(TableName="notes", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "ana"}})["Count"] == 1
    for call in (lambda: ana.get_item(TableName="notes", Key={"pk": {"S": "ben"}, "sk": {"S": "1"}}),
                 lambda: ana.query(TableName="notes", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "ben"}}),
                 lambda: ana.put_item(TableName="notes", Item={"pk": {"S": "ben"}, "sk": {"S": "2"}}),
                 lambda: ana.scan(TableName="notes")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDeniedException"
    assert "Item" not in ddb.get_item(TableName="notes", Key={"pk": {"S": "ben"}, "sk": {"S": "2"}})


def test_high_level_resource_api(server):
    """boto3's Table resource (Python types, Decimal numbers, batch writer, conditions)."""
    import boto3
    from boto3.dynamodb.conditions import Attr, Key

    dyn = boto3.resource("dynamodb", endpoint_url=server.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                         region_name="us-east-1")
    table = dyn.create_table(TableName="movies", KeySchema=[{"AttributeName": "year", "KeyType": "HASH"},
                                                            {"AttributeName": "title", "KeyType": "RANGE"}],
                             AttributeDefinitions=[{"AttributeName": "year", "AttributeType": "N"},
                                                   {"AttributeName": "title", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST")
    table.wait_until_exists()
    with table.batch_writer() as w:
        for i in range(60):
            w.put_item(Item={"year": 2000 + i % 3, "title": f"film {i:02}", "rating": decimal.Decimal(i) / 10, "info": {"genres": ["drama"]}})
    r = table.query(KeyConditionExpression=Key("year").eq(2001) & Key("title").begins_with("film 1"),
                    FilterExpression=Attr("rating").gt(decimal.Decimal("1.5")))
    assert [i["title"] for i in r["Items"]] == ["film 16", "film 19"]
    assert r["Items"][0]["info"] == {"genres": ["drama"]} and r["Items"][0]["rating"] == decimal.Decimal("1.6")
    assert TypeSerializer().serialize(decimal.Decimal("1.6")) == {"N": "1.6"}


def test_legacy_parameters(ddb):
    """Pre-expression parameters still used by older code: Expected, AttributeUpdates,
    KeyConditions, QueryFilter, ScanFilter, AttributesToGet."""
    make_table(ddb, "legacy", range_type="N", rcu_=None)
    for i in range(4):
        ddb.put_item(TableName="legacy", Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "n": {"N": str(i * 10)}, "l": {"L": []}})
    ddb.put_item(TableName="legacy", Item={"pk": {"S": "p"}, "sk": {"N": "0"}, "n": {"N": "5"}},
                 Expected={"n": {"Value": {"N": "0"}}})
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="legacy", Item={"pk": {"S": "p"}, "sk": {"N": "0"}}, Expected={"n": {"Exists": False}})
    assert code(e) == "ConditionalCheckFailedException"
    ddb.update_item(TableName="legacy", Key={"pk": {"S": "p"}, "sk": {"N": "1"}},
                    AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "1"}}, "l": {"Action": "ADD", "Value": {"L": [{"S": "x"}]}},
                                      "gone": {"Action": "DELETE"}},
                    Expected={"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "5"}, {"N": "15"}]}})
    one = ddb.get_item(TableName="legacy", Key={"pk": {"S": "p"}, "sk": {"N": "1"}}, AttributesToGet=["n", "l"])["Item"]
    assert one == {"n": {"N": "11"}, "l": {"L": [{"S": "x"}]}}
    q = ddb.query(TableName="legacy", KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]}},
        QueryFilter={"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "15"}]}})
    assert [i["sk"]["N"] for i in q["Items"]] == ["2", "3"] and q["ScannedCount"] == 3
    s = ddb.scan(TableName="legacy", ScanFilter={"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "6"}]},
                                                 "sk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "3"}]}},
                 ConditionalOperator="OR")
    assert sorted(i["sk"]["N"] for i in s["Items"]) == ["0", "3"]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName="legacy", KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                  FilterExpression="n > :v", ExpressionAttributeValues={":v": {"N": "1"}})
    assert code(e) == "ValidationException" and "Can not use both expression and non-expression parameters" in message(e)


def test_reset_forgets_tables(ddb, server):
    import urllib.request
    make_table(ddb, "gone", rcu_=None)
    ddb.put_item(TableName="gone", Item={"pk": {"S": "a"}})
    assert ddb.describe_table(TableName="gone")["Table"]["ItemCount"] == 1
    urllib.request.urlopen(urllib.request.Request(server.endpoint + "/_nuage/reset", method="POST"))
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName="gone", Key={"pk": {"S": "a"}})
    assert code(e) == "ResourceNotFoundException"
    make_table(ddb, "gone", rcu_=None)
    assert ddb.scan(TableName="gone")["Count"] == 0


def test_partiql(ddb):
    make_table(ddb, "music", range_type="S", rcu_=None)
    ddb.execute_statement(Statement="INSERT INTO music VALUE {'pk': 'Acme', 'sk': 'Hits', 'year': 2020, 'tags': <<'pop', 'rock'>>}")
    ddb.execute_statement(Statement="INSERT INTO \"music\" VALUE {'pk': ?, 'sk': ?, 'year': ?}",
                          Parameters=[{"S": "Acme"}, {"S": "Live"}, {"N": "2021"}])
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="INSERT INTO music VALUE {'pk': 'Acme', 'sk': 'Hits'}")
    assert code(e) == "DuplicateItemException"
    got = ddb.execute_statement(Statement="SELECT sk, \"year\" FROM music WHERE pk = 'Acme' AND \"year\" >= 2021")
    assert got["Items"] == [{"sk": {"S": "Live"}, "year": {"N": "2021"}}]
    desc = ddb.execute_statement(Statement="SELECT sk FROM music WHERE pk = ? ORDER BY sk DESC", Parameters=[{"S": "Acme"}])
    assert [i["sk"]["S"] for i in desc["Items"]] == ["Live", "Hits"]
    # A SELECT without the partition key scans; Limit pages with NextToken.
    first = ddb.execute_statement(Statement="SELECT * FROM music WHERE tags IS MISSING OR contains(tags, 'pop')", Limit=1)
    assert len(first["Items"]) == 1 and "NextToken" in first
    rest = ddb.execute_statement(Statement="SELECT * FROM music WHERE tags IS MISSING OR contains(tags, 'pop')",
                                 NextToken=first["NextToken"])
    assert len(rest["Items"]) == 1

    up = ddb.execute_statement(Statement="UPDATE music SET \"year\" = \"year\" + 1 SET tags = set_add(tags, <<'jazz'>>) "
                                         "WHERE pk = 'Acme' AND sk = 'Hits' RETURNING ALL NEW *")
    assert up["Items"][0]["year"] == {"N": "2021"} and sorted(up["Items"][0]["tags"]["SS"]) == ["jazz", "pop", "rock"]
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="UPDATE music SET x = 1 WHERE pk = 'Nobody' AND sk = 'x'")
    assert code(e) == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="UPDATE music SET x = 1 WHERE pk = 'Acme'")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="SELEC * FROM music")
    assert code(e) == "ValidationException" and "wasn't well formed" in message(e)
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement="SELECT * FROM music WHERE pk = ?")
    assert code(e) == "ValidationException"

    batch = ddb.batch_execute_statement(Statements=[
        {"Statement": "SELECT * FROM music WHERE pk = 'Acme' AND sk = 'Live'"},
        {"Statement": "INSERT INTO music VALUE {'pk': 'Acme', 'sk': 'Live'}"},
        {"Statement": "DELETE FROM music WHERE pk = 'Acme' AND sk = 'Hits'"},
    ])["Responses"]
    assert batch[0]["Item"]["year"] == {"N": "2021"}
    assert batch[1]["Error"]["Code"] == "DuplicateItem"
    assert "Error" not in batch[2]
    assert "Item" not in ddb.get_item(TableName="music", Key={"pk": {"S": "Acme"}, "sk": {"S": "Hits"}})


def test_partiql_transactions(ddb):
    make_table(ddb, "ledger", rcu_=None)
    ddb.execute_transaction(TransactStatements=[
        {"Statement": "INSERT INTO ledger VALUE {'pk': 'a', 'bal': 10}"},
        {"Statement": "INSERT INTO ledger VALUE {'pk': 'b', 'bal': 0}"},
    ], ClientRequestToken="open")
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": "UPDATE ledger SET bal = bal - 20 WHERE pk = 'a' AND bal >= 20"},
            {"Statement": "UPDATE ledger SET bal = bal + 20 WHERE pk = 'b'"},
        ])
    assert code(e) == "TransactionCanceledException"
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[{"Statement": "INSERT INTO ledger VALUE {'pk': 'a'}"}])
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["DuplicateItem"]
    ddb.execute_transaction(TransactStatements=[
        {"Statement": "UPDATE ledger SET bal = bal - 5 WHERE pk = 'a' AND bal >= 5"},
        {"Statement": "UPDATE ledger SET bal = bal + 5 WHERE pk = 'b'"},
    ])
    read = ddb.execute_transaction(TransactStatements=[
        {"Statement": "SELECT bal FROM ledger WHERE pk = 'a'"},
        {"Statement": "SELECT bal FROM ledger WHERE pk = ?", "Parameters": [{"S": "b"}]},
    ])
    assert [r["Item"]["bal"]["N"] for r in read["Responses"]] == ["5", "5"]
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[{"Statement": "SELECT * FROM ledger WHERE pk = 'a'"},
                                                    {"Statement": "DELETE FROM ledger WHERE pk = 'a'"}])
    assert code(e) == "ValidationException"


def test_streams(server, ddb):
    out = make_table(ddb, "orders2", rcu_=None, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = out["TableDescription"]["LatestStreamArn"]
    assert arn.startswith("arn:aws:dynamodb:us-east-1:000000000000:table/orders2/stream/")
    assert ddb.describe_table(TableName="orders2")["Table"]["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ddb.put_item(TableName="orders2", Item={"pk": {"S": "o1"}, "n": {"N": "1"}})
    ddb.update_item(TableName="orders2", Key={"pk": {"S": "o1"}}, UpdateExpression="SET n = :two", ExpressionAttributeValues={":two": {"N": "2"}})
    ddb.delete_item(TableName="orders2", Key={"pk": {"S": "o1"}})
    # A refused write leaves no record.
    with pytest.raises(ClientError):
        ddb.put_item(TableName="orders2", Item={"pk": {"S": "o2"}}, ConditionExpression="attribute_exists(pk)")

    streams = server.client("dynamodbstreams")
    assert streams.list_streams(TableName="orders2")["Streams"][0]["StreamArn"] == arn
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["StreamViewType"] == "NEW_AND_OLD_IMAGES" and len(desc["Shards"]) == 1
    shard = desc["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = streams.get_records(ShardIterator=it)
    recs = got["Records"]
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    assert recs[0]["dynamodb"]["NewImage"] == {"pk": {"S": "o1"}, "n": {"N": "1"}} and "OldImage" not in recs[0]["dynamodb"]
    assert recs[1]["dynamodb"]["OldImage"]["n"] == {"N": "1"} and recs[1]["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert recs[2]["dynamodb"]["Keys"] == {"pk": {"S": "o1"}} and "NewImage" not in recs[2]["dynamodb"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
    assert seqs == sorted(seqs) and recs[0]["eventSource"] == "aws:dynamodb"
    # LATEST sees only what follows; AFTER_SEQUENCE_NUMBER resumes.
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    ddb.put_item(TableName="orders2", Item={"pk": {"S": "o3"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["o3"]
    after = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                       SequenceNumber=seqs[1])["ShardIterator"]
    assert [r["eventName"] for r in streams.get_records(ShardIterator=after, Limit=2)["Records"]] == ["REMOVE", "INSERT"]
    # Disabled: the stream is readable, its shard closed.
    ddb.update_table(TableName="orders2", StreamSpecification={"StreamEnabled": False})
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    ddb.put_item(TableName="orders2", Item={"pk": {"S": "o4"}})
    end = streams.get_records(ShardIterator=streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
    assert len(end["Records"]) == 4 and "NextShardIterator" not in end
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn + "x")
    assert code(e) == "ResourceNotFoundException"


def test_backups_and_point_in_time_recovery(ddb):
    make_table(ddb, "src", rcu_=None, more_attrs=[{"AttributeName": "g", "AttributeType": "S"}],
               GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                        "Projection": {"ProjectionType": "ALL"}}])
    for i in range(5):
        ddb.put_item(TableName="src", Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}, "v": {"N": str(i)}})
    b = ddb.create_backup(TableName="src", BackupName="nightly")["BackupDetails"]
    assert b["BackupStatus"] == "AVAILABLE" and b["BackupArn"].startswith("arn:aws:dynamodb:us-east-1:000000000000:table/src/backup/")
    ddb.delete_item(TableName="src", Key={"pk": {"S": "k0"}})
    desc = ddb.describe_backup(BackupArn=b["BackupArn"])["BackupDescription"]
    assert desc["SourceTableDetails"]["ItemCount"] == 5 and desc["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by_g"
    assert [s["BackupName"] for s in ddb.list_backups(TableName="src")["BackupSummaries"]] == ["nightly"]
    r = ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=b["BackupArn"])["TableDescription"]
    assert r["RestoreSummary"]["SourceBackupArn"] == b["BackupArn"] and r["ItemCount"] == 5
    assert ddb.query(TableName="restored", IndexName="by_g", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == 5
    with pytest.raises(ClientError) as e:
        ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=b["BackupArn"])
    assert code(e) == "TableAlreadyExistsException"
    ddb.delete_backup(BackupArn=b["BackupArn"])
    with pytest.raises(ClientError) as e:
        ddb.describe_backup(BackupArn=b["BackupArn"])
    assert code(e) == "BackupNotFoundException"

    # Point in time: restore needs it enabled, then reaches any moment since.
    with pytest.raises(ClientError) as e:
        ddb.restore_table_to_point_in_time(SourceTableName="src", TargetTableName="pitr1", UseLatestRestorableTime=True)
    assert code(e) == "PointInTimeRecoveryUnavailableException"
    c = ddb.update_continuous_backups(TableName="src", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    assert c["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    time.sleep(0.05)
    ddb.put_item(TableName="src", Item={"pk": {"S": "new"}, "g": {"S": "y"}})
    time.sleep(0.05)
    moment = ddb.describe_continuous_backups(TableName="src")["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]
    time.sleep(0.05)
    ddb.delete_item(TableName="src", Key={"pk": {"S": "k1"}})
    ddb.update_item(TableName="src", Key={"pk": {"S": "k2"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "99"}})
    then = ddb.restore_table_to_point_in_time(SourceTableName="src", TargetTableName="pitr1", RestoreDateTime=moment)["TableDescription"]
    keys = sorted(i["pk"]["S"] for i in ddb.scan(TableName="pitr1")["Items"])
    assert keys == ["k1", "k2", "k3", "k4", "new"], keys
    assert ddb.get_item(TableName="pitr1", Key={"pk": {"S": "k2"}})["Item"]["v"] == {"N": "2"}
    assert then["RestoreSummary"]["SourceTableArn"].endswith("table/src")
    latest = ddb.restore_table_to_point_in_time(SourceTableName="src", TargetTableName="pitr2", UseLatestRestorableTime=True,
                                                BillingModeOverride="PROVISIONED",
                                                ProvisionedThroughputOverride={"ReadCapacityUnits": 3, "WriteCapacityUnits": 3})
    assert latest["TableDescription"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert ddb.get_item(TableName="pitr2", Key={"pk": {"S": "k2"}})["Item"]["v"] == {"N": "99"}
    with pytest.raises(ClientError) as e:
        ddb.restore_table_to_point_in_time(SourceTableName="src", TargetTableName="pitr3", RestoreDateTime=0)
    assert code(e) == "InvalidRestoreTimeException"


def wait_status(fn, key, field, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = fn()[key]
        if d[field] != "IN_PROGRESS":
            return d
        time.sleep(0.1)
    raise AssertionError("still in progress")


def test_export_to_and_import_from_s3(server, ddb):
    import gzip
    import json as jsonlib
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    arn = make_table(ddb, "exp", rcu_=None)["TableDescription"]["TableArn"]
    items = [{"pk": {"S": f"k{i}"}, "n": {"N": str(i)}, "b": {"B": b"\x00\x01"}, "m": {"M": {"x": {"L": [{"BOOL": True}]}}}} for i in range(30)]
    with pytest.raises(ClientError) as e:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="lake")
    assert code(e) == "PointInTimeRecoveryUnavailableException"
    ddb.update_continuous_backups(TableName="exp", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for it in items:
        ddb.put_item(TableName="exp", Item=it)
    out = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="lake", S3Prefix="exports/exp")["ExportDescription"]
    assert out["ExportStatus"] == "IN_PROGRESS"
    done = wait_status(lambda: ddb.describe_export(ExportArn=out["ExportArn"]), "ExportDescription", "ExportStatus")
    assert done["ExportStatus"] == "COMPLETED", done
    assert done["ItemCount"] == 30 and done["ExportManifest"].startswith("exports/exp/AWSDynamoDB/")
    summary = jsonlib.loads(s3.get_object(Bucket="lake", Key=done["ExportManifest"])["Body"].read())
    assert summary["itemCount"] == 30 and summary["outputFormat"] == "DYNAMODB_JSON"
    files = [jsonlib.loads(l) for l in s3.get_object(Bucket="lake", Key=summary["manifestFilesS3Key"])["Body"].read().splitlines()]
    exported = []
    for f in files:
        body = s3.get_object(Bucket="lake", Key=f["dataFileS3Key"])["Body"].read()
        exported += [jsonlib.loads(l)["Item"] for l in gzip.decompress(body).splitlines()]
    assert sorted(exported, key=lambda i: i["pk"]["S"]) == sorted(
        [{**i, "b": {"B": "AAE="}} for i in items], key=lambda i: i["pk"]["S"])
    assert [e["ExportArn"] for e in ddb.list_exports(TableArn=arn)["ExportSummaries"]] == [out["ExportArn"]]

    # The export's data files import into a new table.
    data_prefix = files[0]["dataFileS3Key"].rsplit("/", 1)[0] + "/"
    imp = ddb.import_table(S3BucketSource={"S3Bucket": "lake", "S3KeyPrefix": data_prefix}, InputFormat="DYNAMODB_JSON",
                           InputCompressionType="GZIP",
                           TableCreationParameters={"TableName": "imp", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                                                    "BillingMode": "PAY_PER_REQUEST"})["ImportTableDescription"]
    done = wait_status(lambda: ddb.describe_import(ImportArn=imp["ImportArn"]), "ImportTableDescription", "ImportStatus")
    assert done["ImportStatus"] == "COMPLETED" and done["ImportedItemCount"] == 30 and done["ErrorCount"] == 0
    assert ddb.get_item(TableName="imp", Key={"pk": {"S": "k7"}})["Item"] == items[7]

    # CSV: key attributes typed from the definitions, everything else a string; bad rows counted.
    s3.put_object(Bucket="lake", Key="csv/part1.csv", Body=b"id,name,age\n1,ada,36\n2,alan,41\n,nobody,0\n")
    imp = ddb.import_table(S3BucketSource={"S3Bucket": "lake", "S3KeyPrefix": "csv/"}, InputFormat="CSV",
                           TableCreationParameters={"TableName": "people", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                                                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}],
                                                    "BillingMode": "PAY_PER_REQUEST"})["ImportTableDescription"]
    done = wait_status(lambda: ddb.describe_import(ImportArn=imp["ImportArn"]), "ImportTableDescription", "ImportStatus")
    assert done["ImportedItemCount"] == 2 and done["ErrorCount"] == 1
    assert ddb.get_item(TableName="people", Key={"id": {"N": "2"}})["Item"] == {"id": {"N": "2"}, "name": {"S": "alan"}, "age": {"S": "41"}}


def test_resource_policies(server, ddb):
    import json as jsonlib
    iam = server.client("iam")
    arn = make_table(ddb, "shared", rcu_=None)["TableDescription"]["TableArn"]
    ddb.put_item(TableName="shared", Item={"pk": {"S": "a"}})
    user = iam.create_user(UserName="reader")["User"]["Arn"]
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = server.client("dynamodb", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        reader.get_item(TableName="shared", Key={"pk": {"S": "a"}})
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        ddb.get_resource_policy(ResourceArn=arn)
    assert code(e) == "PolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.put_resource_policy(ResourceArn=arn, Policy="{not json")
    assert code(e) == "ValidationException"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user}, "Action": "dynamodb:GetItem", "Resource": arn},
        {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:DeleteItem", "Resource": arn}]}
    rev = ddb.put_resource_policy(ResourceArn=arn, Policy=jsonlib.dumps(policy))["RevisionId"]
    assert ddb.get_resource_policy(ResourceArn=arn)["RevisionId"] == rev
    # The table's policy grants the same account's user what no identity policy does.
    assert reader.get_item(TableName="shared", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    with pytest.raises(ClientError) as e:
        reader.put_item(TableName="shared", Item={"pk": {"S": "b"}})
    assert code(e) == "AccessDeniedException"
    # An explicit deny in the table's policy binds even the account's root.
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName="shared", Key={"pk": {"S": "a"}})
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId="nope")
    assert code(e) == "PolicyNotFoundException"
    ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=rev)
    ddb.delete_item(TableName="shared", Key={"pk": {"S": "a"}})


def test_iam_attribute_level_access(server, ddb):
    """The developer guide's pattern: a policy limiting reads to some attributes."""
    iam = server.client("iam")
    make_table(ddb, "staff", rcu_=None)
    ddb.put_item(TableName="staff", Item={"pk": {"S": "e1"}, "title": {"S": "engineer"}, "salary": {"N": "100"}})
    iam.create_user(UserName="hr")
    key = iam.create_access_key(UserName="hr")["AccessKey"]
    iam.put_user_policy(UserName="hr", PolicyName="cols", PolicyDocument="""{
      "Version": "2012-10-17",
      "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                     "Resource": "arn:aws:dynamodb:*:*:table/staff",
                     "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "title"]},
                                   "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}}]}""")
    hr = server.client("dynamodb", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert hr.get_item(TableName="staff", Key={"pk": {"S": "e1"}}, ProjectionExpression="pk, title")["Item"] == {
        "pk": {"S": "e1"}, "title": {"S": "engineer"}}
    hr.update_item(TableName="staff", Key={"pk": {"S": "e1"}}, UpdateExpression="SET title = :t",
                   ExpressionAttributeValues={":t": {"S": "lead"}})
    for call in (lambda: hr.get_item(TableName="staff", Key={"pk": {"S": "e1"}}),
                 lambda: hr.get_item(TableName="staff", Key={"pk": {"S": "e1"}}, ProjectionExpression="salary"),
                 lambda: hr.query(TableName="staff", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "e1"}}),
                 lambda: hr.update_item(TableName="staff", Key={"pk": {"S": "e1"}}, UpdateExpression="SET salary = :s",
                                        ExpressionAttributeValues={":s": {"N": "1"}})):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDeniedException"


def test_aws_cli(server):
    """The aws CLI as a learner types it: a table, items, a query, a scan, capacity."""
    import json as jsonlib

    def cli(*args):
        r = server.cli("dynamodb", *args, "--output", "json")
        assert r.returncode == 0, r.stderr
        return jsonlib.loads(r.stdout) if r.stdout.strip() else None

    cli("create-table", "--table-name", "Music", "--attribute-definitions", "AttributeName=Artist,AttributeType=S",
        "AttributeName=SongTitle,AttributeType=S", "--key-schema", "AttributeName=Artist,KeyType=HASH",
        "AttributeName=SongTitle,KeyType=RANGE", "--provisioned-throughput", "ReadCapacityUnits=5,WriteCapacityUnits=5",
        "--table-class", "STANDARD")
    r = server.cli("dynamodb", "wait", "table-exists", "--table-name", "Music")
    assert r.returncode == 0, r.stderr
    for song, year in (("Call Me Today", "2020"), ("Howdy", "2021"), ("PartiQL Rocks", "2022")):
        cli("put-item", "--table-name", "Music", "--item",
            jsonlib.dumps({"Artist": {"S": "Acme Band"}, "SongTitle": {"S": song}, "Year": {"N": year}}))
    out = cli("query", "--table-name", "Music", "--key-condition-expression", "Artist = :a AND begins_with(SongTitle, :t)",
              "--expression-attribute-values", '{":a": {"S": "Acme Band"}, ":t": {"S": "Ho"}}',
              "--return-consumed-capacity", "TOTAL")
    assert [i["SongTitle"]["S"] for i in out["Items"]] == ["Howdy"] and out["ConsumedCapacity"]["CapacityUnits"] == 0.5
    assert cli("scan", "--table-name", "Music", "--select", "COUNT")["Count"] == 3
    out = cli("execute-statement", "--statement", "SELECT SongTitle FROM Music WHERE Artist = 'Acme Band' AND \"Year\" > 2020")
    assert sorted(i["SongTitle"]["S"] for i in out["Items"]) == ["Howdy", "PartiQL Rocks"]
    desc = cli("describe-table", "--table-name", "Music")["Table"]
    assert desc["ItemCount"] == 3 and desc["TableClassSummary"]["TableClass"] == "STANDARD"
    r = server.cli("dynamodb", "get-item", "--table-name", "Nope", "--key", '{"Artist": {"S": "x"}}', check=False)
    assert r.returncode != 0 and "ResourceNotFoundException" in r.stderr
