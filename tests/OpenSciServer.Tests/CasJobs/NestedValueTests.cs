using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using DuckDB.NET.Data;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>DuckDB's nested and less common types in query results: proper JSON values, and their JSON text in files.</summary>
public sealed class NestedValueTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    private const string Nested = """
        SELECT {'a': 1, 'b': [1.5, 'nan'::DOUBLE], 'd': DATE '2024-01-02'} AS s, [1, NULL, 3] AS l,
               MAP {'k': 2} AS m, [1, 2]::INTEGER[2] AS arr, [[1, 2], [3]] AS ll
        """;

    [Fact]
    public async Task Query_StructListMapArray_AreJsonObjectsAndArrays()
    {
        using var client = await ClientAsync();

        var set = await QueryAsync(client, Nested);

        Assert.Equal(["Struct", "List", "Map", "Array", "List"], set.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("type").GetString()));
        var row = set.GetProperty("rows")[0];
        Assert.Equal("""{"a":1,"b":[1.5,null],"d":"2024-01-02"}""", row[0].GetRawText());
        Assert.Equal("[1,null,3]", row[1].GetRawText());
        Assert.Equal("""{"k":2}""", row[2].GetRawText());
        Assert.Equal("[1,2]", row[3].GetRawText());
        Assert.Equal("[[1,2],[3]]", row[4].GetRawText());
    }

    [Fact]
    public async Task Query_XmatchRows_AreObjectsWithTheTablesColumns()
    {
        using var client = await ClientAsync();

        var set = await QueryAsync(client, "SELECT x.t1, x.distance_arcsec FROM xmatch('erass_synthetic', 'erass_synthetic', 1) x WHERE x.t1.id = 7 AND x.t2.id = 7");

        var t1 = set.GetProperty("rows")[0][0];
        Assert.Equal(JsonValueKind.Object, t1.ValueKind);
        Assert.Equal(7, t1.GetProperty("id").GetInt64());
        Assert.Equal(JsonValueKind.Number, t1.GetProperty("ra").ValueKind);
        Assert.Equal(0.0, set.GetProperty("rows")[0][1].GetDouble());
    }

    [Fact]
    public async Task Query_ARowOfEachType_ComesBackAsAUserExpects()
    {
        using var client = await ClientAsync();

        var set = await QueryAsync(client, """
            SELECT 12.50::DECIMAL(10, 2) AS dec, 1234567890123456789012345678.9012345678::DECIMAL(38, 10) AS wide,
                   42::HUGEINT AS huge, 170141183460469231731687303715884105727::HUGEINT AS hugest,
                   '8b1f2e0c-6c5a-4f7e-9d3e-0a1b2c3d4e5f'::UUID AS uuid,
                   INTERVAL '1 year 2 months 3 days 04:05:06.5' AS span, INTERVAL '90 minutes' AS short,
                   TIME '04:05:06.789' AS t, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tz, TIMESTAMP '2024-01-02 03:04:05' AS ts,
                   '\x00\xFFab'::BLOB AS blob, 'b'::ENUM('a', 'b') AS e, 'inf'::DOUBLE AS inf, DATE 'infinity' AS forever,
                   sum(x) AS total
            FROM range(3) r(x)
            """);

        var row = set.GetProperty("rows")[0];
        var values = set.GetProperty("columns").EnumerateArray().Select((c, i) => (c.GetProperty("name").GetString()!, row[i])).ToDictionary();
        Assert.Equal(12.50m, values["dec"].GetDecimal());
        Assert.Equal("1234567890123456789012345678.9012345678", values["wide"].GetString());
        Assert.Equal(42, values["huge"].GetInt64());
        Assert.Equal("170141183460469231731687303715884105727", values["hugest"].GetString());
        Assert.Equal("8b1f2e0c-6c5a-4f7e-9d3e-0a1b2c3d4e5f", values["uuid"].GetString());
        Assert.Equal("P1Y2M3DT4H5M6.5S", values["span"].GetString());
        Assert.Equal("PT1H30M", values["short"].GetString());
        Assert.Equal("04:05:06.789", values["t"].GetString());
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 1, 4, 5, TimeSpan.Zero), values["tz"].GetDateTimeOffset());
        Assert.EndsWith("Z", values["tz"].GetString(), StringComparison.Ordinal);
        Assert.Equal(new DateTime(2024, 1, 2, 3, 4, 5), values["ts"].GetDateTime());
        Assert.Equal([0x00, 0xFF, (byte)'a', (byte)'b'], Convert.FromBase64String(values["blob"].GetString()!));
        Assert.Equal("b", values["e"].GetString());
        Assert.Equal(JsonValueKind.Null, values["inf"].ValueKind);
        Assert.Equal("infinity", values["forever"].GetString());
        Assert.Equal(3, values["total"].GetInt64()); // sum of BIGINTs is a HUGEINT: a number while it fits in 64 bits
    }

    [Theory]
    [InlineData("SELECT union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS u", "u")]
    [InlineData("SELECT {'b': [1, NULL]} AS s", "s")]
    public async Task Query_UnionOrStructOfAListWithNulls_400SayingHowToSelectIt(string sql, string column)
    {
        using var client = await ClientAsync();

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = sql });
        var json = await QueryAsync(client, sql.Replace($" AS {column}", "", StringComparison.Ordinal).Replace("SELECT ", "SELECT to_json(", StringComparison.Ordinal) + $") AS {column}", "MyDB");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"select it as JSON (to_json({column}))", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, json.GetProperty("rows")[0][0].ValueKind); // the advice works: to_json gives the JSON text
    }

    [Fact]
    public async Task QuickResultFiles_NestedValues_AreTheirJsonText()
    {
        using var client = await ClientAsync();
        const string Sql = "SELECT 1 AS id, {'a': 1, 'b': 'x,y'} AS s, [1, NULL] AS l";

        var csv = await (await FileAsync(client, Sql, "text/csv")).Content.ReadAsStringAsync();
        var fits = await (await FileAsync(client, Sql, "application/fits")).Content.ReadAsByteArrayAsync();
        var votable = XDocument.Parse(await (await FileAsync(client, Sql, "application/x-votable+xml")).Content.ReadAsStringAsync());
        var parquet = Path.Combine(platform.DataDirectory, PlatformFactory.UniqueName("n") + ".parquet");
        await File.WriteAllBytesAsync(parquet, await (await FileAsync(client, Sql, "application/vnd.apache.parquet")).Content.ReadAsByteArrayAsync());

        Assert.Equal("id,s,l\n1,\"{\"\"a\"\":1,\"\"b\"\":\"\"x,y\"\"}\",\"[1,null]\"\n", csv);
        Assert.Contains("""{"a":1,"b":"x,y"}""", Encoding.ASCII.GetString(fits), StringComparison.Ordinal);
        Assert.Contains("[1,null]", Encoding.ASCII.GetString(fits), StringComparison.Ordinal);
        Assert.Equal(["1", """{"a":1,"b":"x,y"}""", "[1,null]"], votable.Descendants().Where(e => e.Name.LocalName == "TD").Select(e => e.Value));
        Assert.Equal(["char", "char"], votable.Descendants().Where(e => e.Name.LocalName == "FIELD").Skip(1).Select(e => (string?)e.Attribute("datatype")));
        Assert.Equal(("VARCHAR", """{"a":1,"b":"x,y"}"""), ReadParquet(parquet));
    }

    [Fact]
    public async Task MyDbExport_NestedColumns_CsvAndFitsHoldTheirJsonText()
    {
        var name = PlatformFactory.UniqueName("n");
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(name));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/files/volumes")).StatusCode);
        await QueryAsync(client, "CREATE TABLE nested AS SELECT 1 AS id, {'a': 1, 'b': [2, NULL]} AS s, INTERVAL '1 month' AS span", "MyDB");

        foreach (var format in new[] { "csv", "fits" })
        {
            var export = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/nested/export", new { path = $"Storage/{name}/persistent/nested.{format}" });
            Assert.True(export.StatusCode == HttpStatusCode.OK, await export.Content.ReadAsStringAsync());
        }

        var folder = Path.Combine(platform.DataDirectory, "volumes", "Storage", name, "persistent");
        Assert.Equal("id,s,span\n1,\"{\"\"a\"\":1,\"\"b\"\":[2,null]}\",1 month\n", await File.ReadAllTextAsync(Path.Combine(folder, "nested.csv")));
        var fits = Encoding.ASCII.GetString(await File.ReadAllBytesAsync(Path.Combine(folder, "nested.fits")));
        Assert.Contains("""{"a":1,"b":[2,null]}""", fits, StringComparison.Ordinal);
        Assert.Contains("P1M", fits, StringComparison.Ordinal);
    }

    private static (string Type, string Value) ReadParquet(string path)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT typeof(s), s FROM read_parquet('{path}')";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return (reader.GetString(0), reader.GetString(1));
    }

    private async Task<HttpClient> ClientAsync() => platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("n")));

    private static async Task<HttpResponseMessage> FileAsync(HttpClient client, string sql, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/MyDB/query") { Content = JsonContent.Create(new { Query = sql }) };
        request.Headers.Accept.ParseAdd(accept);
        var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{accept}: {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    private static async Task<JsonElement> QueryAsync(HttpClient client, string sql, string context = "Demo")
    {
        var response = await client.PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        var sets = JsonDocument.Parse(body).RootElement.GetProperty("resultSets");
        return sets.GetArrayLength() > 0 ? sets[0].Clone() : default;
    }
}
