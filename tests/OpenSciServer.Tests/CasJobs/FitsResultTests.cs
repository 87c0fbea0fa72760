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
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", script, path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "astropy could not read the FITS answer (apt-get install -y python3-astropy): " + error);
        return output;
    }
}
