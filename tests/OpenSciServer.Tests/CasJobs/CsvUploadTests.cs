using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenSciServer.CasJobs;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>SciScript's uploadCSVDataToTable: a CSV with a header becomes a MyDB table.</summary>
public sealed class CsvUploadTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task Upload_CreatesATypedTable_QueryableInMyDb()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("u")));
        var csv = "id,ra,name,note\n1,10.5,\"NGC 1275\",\n2,11,\"A, \"\"quoted\"\" one\",x\n";

        var response = await client.PostAsync("/CasJobs/RestApi/contexts/MyDB/Tables/targets", new StringContent(csv, Encoding.UTF8, "text/csv"));
        var query = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query",
            new { query = "SELECT typeof(id), typeof(ra), name, note FROM targets ORDER BY id" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rows = (await query.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows");
        Assert.Equal("BIGINT", rows[0][0].GetString());
        Assert.Equal("DOUBLE", rows[0][1].GetString());
        Assert.Equal("NGC 1275", rows[0][2].GetString());
        Assert.Equal(JsonValueKind.Null, rows[0][3].ValueKind);
        Assert.Equal("A, \"quoted\" one", rows[1][2].GetString());
    }

    [Theory]
    [InlineData("targets;DROP TABLE x", "a,b\n1,2\n", "not a valid table name")]
    [InlineData("../etc", "a,b\n1,2\n", "not a valid table name")]
    [InlineData("ok_table", "a,b\n1,2\n3\n", "Line 3 has 1 values")]
    [InlineData("ok_table", "", "empty")]
    [InlineData("ok_table", "a,a\n1,2\n", "distinct")]
    [InlineData("ok_table", "a,b\n\"unclosed,2\n", "never closed")]
    public async Task Upload_BadNameOrCsv_Returns400WithTheReason_AndCreatesNothing(string table, string csv, string reason)
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("u")));

        var response = await client.PostAsync($"/CasJobs/RestApi/contexts/MyDB/Tables/{Uri.EscapeDataString(table)}", new StringContent(csv));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/MyDB/tables"))!);
    }

    [Fact]
    public async Task Upload_IntoACatalogContext_IsRefused()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("u")));

        var response = await client.PostAsync("/CasJobs/RestApi/contexts/Demo/Tables/mine", new StringContent("a\n1\n"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("MyDB only", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_InfersTypesColumnByColumn()
    {
        var data = CsvTable.Parse("i,d,s\r\n1,1.5,x\r\n2,2,\r\n");

        Assert.Equal(["BIGINT", "DOUBLE", "VARCHAR"], data.Types);
        Assert.Equal(2, data.Rows.Count);
        Assert.Null(data.Rows[1][2]);
        Assert.Throws<PlatformException>(() => CsvTable.CheckTableName("1abc"));
    }
}
