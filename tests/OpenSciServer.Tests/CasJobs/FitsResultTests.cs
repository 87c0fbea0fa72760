using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>SciScript's executeQuery(format="fits"): the FITS answer read back by astropy.</summary>
public sealed class FitsResultTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task QuickQuery_AcceptFits_AstropyReadsValuesTypesAndNulls()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("f")));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/Demo/query")
        {
            Content = JsonContent.Create(new
            {
                // DuckDB's own SQL (a boolean expression in the select list is not T-SQL).
                Query = "SELECT id, ra, CAST(det_like AS FLOAT) AS det_like, class, CAST(NULL AS INTEGER) AS missing, id % 2 = 0 AS even FROM erass_synthetic ORDER BY id LIMIT 3",
            }),
        };
        request.Headers.Accept.ParseAdd("application/fits");

        var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/fits", response.Content.Headers.ContentType?.MediaType);
        var path = Path.Combine(platform.DataDirectory, "result.fits");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());

        var read = JsonDocument.Parse(await AstropyAsync(path)).RootElement;

        Assert.Equal(["ID", "RA", "DET_LIKE", "CLASS", "MISSING", "EVEN"], read.GetProperty("names").EnumerateArray().Select(n => n.GetString()!.ToUpperInvariant()));
        Assert.Equal(["i8", "f8", "f4", "U", "i4", "b1"], read.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal([1L, 2, 3], read.GetProperty("id").EnumerateArray().Select(v => v.GetInt64()));
        Assert.True(read.GetProperty("missingMasked").GetBoolean());
        Assert.Equal([false, true, false], read.GetProperty("even").EnumerateArray().Select(v => v.GetBoolean()));
    }

    [Fact]
    public async Task QuickQuery_AcceptVoTable_AstropyReadsValuesTypesAndNulls()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("v")));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/Demo/query")
        {
            Content = JsonContent.Create(new
            {
                Query = "SELECT id, ra, class, CAST(NULL AS DOUBLE) AS missing, id % 2 = 0 AS even, '<&>' AS markup FROM erass_synthetic ORDER BY id LIMIT 3",
            }),
        };
        request.Headers.Accept.ParseAdd("application/x-votable+xml");

        var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var path = Path.Combine(platform.DataDirectory, "result.xml");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());

        const string script = """
            import json, sys
            from astropy.io.votable import parse_single_table
            t = parse_single_table(sys.argv[1]).to_table()
            print(json.dumps({
                "names": t.colnames,
                "id": [int(v) for v in t["id"]],
                "class": [str(v) for v in t["class"]],
                "missingMasked": bool(t["missing"].mask[0]) if hasattr(t["missing"], "mask") else str(t["missing"][0]) == "nan",
                "even": [bool(v) for v in t["even"]],
                "markup": str(t["markup"][0]),
                "idKind": t["id"].dtype.kind + str(t["id"].dtype.itemsize),
            }))
            """;
        var read = JsonDocument.Parse(await RunPythonAsync(script, path)).RootElement;

        Assert.Equal(["id", "ra", "class", "missing", "even", "markup"], read.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal([1L, 2, 3], read.GetProperty("id").EnumerateArray().Select(v => v.GetInt64()));
        Assert.Equal("i8", read.GetProperty("idKind").GetString());
        Assert.True(read.GetProperty("missingMasked").GetBoolean());
        Assert.Equal([false, true, false], read.GetProperty("even").EnumerateArray().Select(v => v.GetBoolean()));
        Assert.Equal("<&>", read.GetProperty("markup").GetString());
    }

    private static async Task<string> AstropyAsync(string path)
    {
        const string script = """
            import json, sys
            from astropy.table import Table
            t = Table.read(sys.argv[1], hdu=1)
            def kind(c):
                d = t[c].dtype
                return 'U' if d.kind in 'US' else d.kind + str(d.itemsize)
            print(json.dumps({
                "names": t.colnames,
                "kinds": [kind(c) for c in t.colnames],
                "id": [int(v) for v in t["id"]],
                "missingMasked": bool(getattr(t["missing"], "mask", [False])[0]),
                "even": [bool(v) for v in t["even"]],
            }))
            """;
        return await RunPythonAsync(script, path);
    }

    private static async Task<string> RunPythonAsync(string script, string path)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", script, path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "astropy could not read the answer (apt-get install -y python3-astropy): " + error);
        return output;
    }
}
