using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;
using Parquet.Serialization;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// Import into MyDB and export from it, in every format, each file read back by another reader: astropy for FITS
/// and both VOTable serializations, Parquet.Net for Parquet (and a Parquet.Net file imported by DuckDB).
/// </summary>
public sealed class MyDbFilesTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    // Every column kind, and a NULL in each.
    private const string Sample = """
        CREATE TABLE sample AS SELECT * FROM (VALUES
            (1::BIGINT, 10.5::DOUBLE, 'alpha'::VARCHAR, true, 7::INTEGER, 1.25::FLOAT, 3::SMALLINT),
            (2, NULL, 'beta, "quoted"', false, NULL, 2.5, NULL),
            (NULL, -3.0, NULL, NULL, -8, NULL, -4)) t(id, ra, name, flag, n, mag, s)
        """;

    [Theory]
    [InlineData("csv")]
    [InlineData("parquet")]
    [InlineData("fits")]
    public async Task ExportThenImport_InEachFormat_KeepsValuesAndNulls(string format)
    {
        var (client, user) = await NewUserAsync();
        await QueryAsync(client, Sample);
        var path = $"Storage/{user}/persistent/out/sample.{format}";

        var export = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/sample/export", new { path });
        var import = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path, table = "back" });

        Assert.True(export.StatusCode == HttpStatusCode.OK, await export.Content.ReadAsStringAsync());
        var exported = await export.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(path, exported.GetProperty("path").GetString());
        Assert.Equal(new FileInfo(VolumeFile(user, $"out/sample.{format}")).Length, exported.GetProperty("bytes").GetInt64());
        Assert.True(import.StatusCode == HttpStatusCode.OK, await import.Content.ReadAsStringAsync());
        Assert.Equal(3, (await import.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rows").GetInt64());
        // A CSV column of true/false comes back as text (CSV types are BIGINT, DOUBLE or VARCHAR).
        const string columns = "id, ra, name, CAST(flag AS VARCHAR) AS flag, n, mag, s";
        var original = await QueryAsync(client, $"SELECT {columns} FROM sample ORDER BY id NULLS LAST");
        var copy = await QueryAsync(client, $"SELECT {columns} FROM back ORDER BY id NULLS LAST");
        Assert.Equal(Text(original), Text(copy));
    }

    [Fact]
    public async Task Export_ExistingFile_Is409_UnlessOverwrite_AndNoTempFileIsLeft()
    {
        var (client, user) = await NewUserAsync();
        await QueryAsync(client, Sample);
        var path = $"Storage/{user}/persistent/sample.csv";

        var first = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/sample/export", new { path });
        var second = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/sample/export", new { path });
        var overwrite = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/sample/export", new { path, overwrite = true });
        var missing = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/nothing/export", new { path = $"Storage/{user}/persistent/n.csv" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, overwrite.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.False(File.Exists(VolumeFile(user, "n.csv")));
        Assert.StartsWith("id,ra,name,flag,n,mag,s\n1,10.5,alpha,true,7,1.25,3\n", await File.ReadAllTextAsync(VolumeFile(user, "sample.csv")), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(platform.DataDirectory, "volumes", "Storage", ".oss-uploads")));
    }

    [Fact]
    public async Task Download_Fits_AstropyReadsValuesTypesAndNulls()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, Sample);

        var response = await client.GetAsync("/api/casjobs/mydb/tables/sample/download?format=fits");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fits", response.Content.Headers.ContentType?.MediaType);
        var read = await AstropyAsync(await response.Content.ReadAsByteArrayAsync(), "fits", """
            from astropy.table import Table
            t = Table.read(path, hdu=1)
            """);
        Assert.Equal(["ID", "RA", "NAME", "FLAG", "N", "MAG", "S"], read.GetProperty("names").EnumerateArray().Select(n => n.GetString()!.ToUpperInvariant()));
        Assert.Equal(["i8", "f8", "U", "b1", "i4", "f4", "i2"], read.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal("[1, 2, null]", read.GetProperty("id").GetRawText());
        Assert.Equal("[10.5, null, -3.0]", read.GetProperty("ra").GetRawText());
        Assert.Equal("[7, null, -8]", read.GetProperty("n").GetRawText());
        Assert.Equal("alpha", read.GetProperty("name")[0].GetString());
    }

    [Theory]
    [InlineData("votable")]
    [InlineData("votable-binary2")]
    public async Task Download_VoTable_AstropyReadsValuesTypesAndNulls(string format)
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, Sample);

        var response = await client.GetAsync($"/api/casjobs/mydb/tables/sample/download?format={format}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Contains(format == "votable" ? "<TABLEDATA>" : "<BINARY2>", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        var read = await AstropyAsync(bytes, "xml", """
            from astropy.io.votable import parse_single_table
            t = parse_single_table(path).to_table()
            """);
        Assert.Equal(["id", "ra", "name", "flag", "n", "mag", "s"], read.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(["i8", "f8", "U", "b1", "i4", "f4", "i2"], read.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal("[1, 2, null]", read.GetProperty("id").GetRawText());
        Assert.Equal("[10.5, null, -3.0]", read.GetProperty("ra").GetRawText());
        Assert.Equal("[7, null, -8]", read.GetProperty("n").GetRawText());
        Assert.Equal("[\"alpha\", \"beta, \\\"quoted\\\"\", null]", read.GetProperty("name").GetRawText());
        Assert.Equal("[true, false, null]", read.GetProperty("flag").GetRawText());
    }

    [Fact]
    public async Task Download_Parquet_ParquetNetReadsWhatDuckDbWrote()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, Sample);

        var response = await client.GetAsync("/api/casjobs/mydb/tables/sample/download?format=parquet");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sample.parquet", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName);
        var rows = (await ParquetSerializer.DeserializeAsync<SampleRow>(new MemoryStream(await response.Content.ReadAsByteArrayAsync()))).Data.OrderBy(r => r.id ?? long.MaxValue).ToList();
        Assert.Equal([1L, 2L, null], rows.Select(r => r.id));
        Assert.Equal([10.5, null, -3.0], rows.Select(r => r.ra));
        Assert.Equal(["alpha", "beta, \"quoted\"", null], rows.Select(r => r.name));
        Assert.Equal([true, false, null], rows.Select(r => r.flag));
    }

    [Fact]
    public async Task QuickQuery_ParquetAndBinary2Formats_AreReadByOtherReaders()
    {
        var (client, _) = await NewUserAsync();
        const string sql = "SELECT id, ra, class FROM erass_synthetic ORDER BY id LIMIT 4";

        var parquet = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query?format=parquet", new { query = sql });
        using var accept = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/Demo/query") { Content = JsonContent.Create(new { Query = sql }) };
        accept.Headers.Accept.ParseAdd("application/x-parquet");
        var compat = await client.SendAsync(accept);
        var binary2 = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query?format=votable-binary2", new { query = sql });

        Assert.True(parquet.StatusCode == HttpStatusCode.OK, await parquet.Content.ReadAsStringAsync());
        var rows = (await ParquetSerializer.DeserializeAsync<DemoRow>(new MemoryStream(await parquet.Content.ReadAsByteArrayAsync()))).Data;
        Assert.Equal([1L, 2L, 3L, 4L], rows.Select(r => r.id));
        Assert.Equal(HttpStatusCode.OK, compat.StatusCode);
        Assert.Equal(4, (await ParquetSerializer.DeserializeAsync<DemoRow>(new MemoryStream(await compat.Content.ReadAsByteArrayAsync()))).Data.Count);
        var read = await AstropyAsync(await binary2.Content.ReadAsByteArrayAsync(), "xml", """
            from astropy.io.votable import parse_single_table
            t = parse_single_table(path).to_table()
            """);
        Assert.Equal("[1, 2, 3, 4]", read.GetProperty("id").GetRawText());
    }

    [Fact]
    public async Task Upload_ParquetWrittenByParquetNet_BecomesATable()
    {
        var (client, _) = await NewUserAsync();
        var buffer = new MemoryStream();
        await ParquetSerializer.SerializeAsync(new[]
        {
            new SampleRow { id = 1, ra = 1.5, name = "one", flag = true },
            new SampleRow { id = 2, ra = null, name = null, flag = false },
        }, buffer);

        var upload = await client.PostAsync("/api/casjobs/mydb/tables/fromparquet/upload?format=parquet", new ByteArrayContent(buffer.ToArray()));

        Assert.True(upload.StatusCode == HttpStatusCode.OK, await upload.Content.ReadAsStringAsync());
        Assert.Equal(2, (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rows").GetInt64());
        var back = await QueryAsync(client, "SELECT id, ra, name, flag FROM fromparquet ORDER BY id");
        Assert.Equal("[[1,1.5,\"one\",true],[2,null,null,false]]", back.GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Import_FitsWrittenByAstropy_UnsignedScaledNullsAndUnits()
    {
        var (client, user) = await NewUserAsync();
        var file = VolumeFile(user, "astropy.fits");
        await RunPythonAsync("""
            import numpy as np, sys
            from astropy.table import Table, MaskedColumn
            t = Table()
            t['u16'] = np.array([0, 65535, 7], dtype=np.uint16)
            t['u32'] = np.array([0, 4294967295, 9], dtype=np.uint32)
            t['i32'] = MaskedColumn(np.array([5, -1, 3], dtype=np.int32), mask=[False, True, False])
            t['flux'] = np.array([1.5, float('nan'), 2.5])
            t['flux'].unit = 'erg/s/cm2'
            t['label'] = ['a', 'bb', 'ccc']
            t.write(sys.argv[1], format='fits')
            """, file);

        var import = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path = $"Storage/{user}/persistent/astropy.fits", table = "fromfits" });

        Assert.True(import.StatusCode == HttpStatusCode.OK, await import.Content.ReadAsStringAsync());
        var table = await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb/tables/fromfits");
        Assert.Equal(["USMALLINT", "UINTEGER", "INTEGER", "DOUBLE", "VARCHAR"], table.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("type").GetString()));
        var back = await QueryAsync(client, "SELECT u16, u32, i32, flux, label FROM fromfits ORDER BY u16");
        Assert.Equal("[[0,0,5,1.5,\"a\"],[7,9,3,2.5,\"ccc\"],[65535,4294967295,null,null,\"bb\"]]", back.GetProperty("rows").GetRawText());
        // The unit (as astropy writes erg/s/cm2 in FITS) is kept with the column, shown in the schema, and written back by the exports.
        Assert.Equal([null, null, null, "cm-2 erg s-1", null], table.GetProperty("columns").EnumerateArray().Select(c => c.TryGetProperty("unit", out var u) ? u.GetString() : null));
        var fits = await client.GetAsync("/api/casjobs/mydb/tables/fromfits/download?format=fits");
        var votable = await client.GetAsync("/api/casjobs/mydb/tables/fromfits/download?format=votable");
        var units = "print(json.dumps({c: str(t[c].unit) if t[c].unit is not None else None for c in t.colnames}))\nsys.exit(0)";
        var fitsUnits = await AstropyAsync(await fits.Content.ReadAsByteArrayAsync(), "fits", "from astropy.table import Table\nt = Table.read(path, hdu=1)\n" + units);
        var voUnits = await AstropyAsync(await votable.Content.ReadAsByteArrayAsync(), "xml", "from astropy.table import Table\nt = Table.read(path, format='votable')\n" + units);
        Assert.Equal("erg / (cm2 s)", fitsUnits.GetProperty("flux").GetString());
        Assert.Equal("erg / (cm2 s)", voUnits.GetProperty("flux").GetString());
        Assert.Equal(JsonValueKind.Null, fitsUnits.GetProperty("u16").ValueKind);
    }

    [Fact]
    public async Task CommentOnColumn_IsTheColumnsUnit_InSchemaAndExports()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, "CREATE TABLE withunit AS SELECT 1.5 AS ra");
        await QueryAsync(client, "COMMENT ON COLUMN withunit.ra IS 'deg'");

        var table = await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb/tables/withunit");
        var fits = await client.GetAsync("/api/casjobs/mydb/tables/withunit/download?format=fits");

        Assert.Equal("deg", table.GetProperty("columns")[0].GetProperty("unit").GetString());
        var read = await AstropyAsync(await fits.Content.ReadAsByteArrayAsync(), "fits",
            "from astropy.table import Table\nt = Table.read(path, hdu=1)\nprint(json.dumps({'unit': str(t['ra'].unit)}))\nsys.exit(0)");
        Assert.Equal("deg", read.GetProperty("unit").GetString());
    }

    [Fact]
    public async Task Import_RaggedCsv_Is400WithTheLine_AndNoTable()
    {
        var (client, user) = await NewUserAsync();
        await File.WriteAllTextAsync(VolumeFile(user, "ragged.csv"), "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n");

        var import = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path = $"Storage/{user}/persistent/ragged.csv", table = "ragged" });
        var upload = await client.PostAsync("/api/casjobs/mydb/tables/ragged/upload", new StringContent("x,y\n1,2\n3\n"));

        Assert.Equal(HttpStatusCode.BadRequest, import.StatusCode);
        Assert.Contains("Line 4 has 2 values", await import.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, upload.StatusCode);
        Assert.Contains("Line 3", await upload.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables").EnumerateArray());
    }

    [Fact]
    public async Task Import_Csv_InfersTypes_ExistingTableIs409()
    {
        var (client, user) = await NewUserAsync();
        await File.WriteAllTextAsync(VolumeFile(user, "stars.csv"), "id,ra,name\n1,10.5,\"Vega, a star\"\n2,,Deneb\n");

        var first = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path = $"Storage/{user}/persistent/stars.csv", table = "stars" });
        var again = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path = $"Storage/{user}/persistent/stars.csv", table = "STARS" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var back = await QueryAsync(client, "SELECT * FROM stars ORDER BY id");
        Assert.Equal(["BigInt", "Double", "Varchar"], back.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("type").GetString()));
        Assert.Equal("[[1,10.5,\"Vega, a star\"],[2,null,\"Deneb\"]]", back.GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task HostilePaths_AreRefused_AndNothingIsWritten()
    {
        var (client, user) = await NewUserAsync();
        var (_, other) = await NewUserAsync();
        await QueryAsync(client, Sample);
        await File.WriteAllTextAsync(VolumeFile(other, "theirs.csv"), "secret\nother user's\n");
        File.CreateSymbolicLink(VolumeFile(user, "link.csv"), "/etc/passwd");
        Directory.CreateSymbolicLink(VolumeFile(user, "linkdir"), Path.Combine(platform.DataDirectory, "volumes", "Storage", other, "persistent"));

        string[] imports =
        [
            $"Storage/{user}/persistent/../../{other}/persistent/theirs.csv",
            "/etc/passwd",
            $"Storage/{other}/persistent/theirs.csv",
            $"Storage/{user}/persistent/link.csv",
            $"Storage/{user}/persistent/linkdir/theirs.csv",
            $"Storage/{user}/persistent/%2e%2e/x.csv",
            $"Storage/{user}/persistent/missing.csv",
        ];
        foreach (var path in imports)
        {
            var response = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path, table = "stolen", format = "csv" });
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"import {path}: {(int)response.StatusCode} {text}");
            Assert.DoesNotContain("other user", text, StringComparison.Ordinal);
        }

        string[] exports =
        [
            $"Storage/{other}/persistent/planted.csv",
            $"Storage/{user}/persistent/linkdir/planted.csv",
            $"Storage/{user}/persistent/link.csv",
            $"Storage/{user}/persistent/../persistent/planted.csv",
            "/tmp/planted.csv",
        ];
        foreach (var path in exports)
        {
            var response = await client.PostAsJsonAsync("/api/casjobs/mydb/tables/sample/export", new { path, overwrite = true });
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"export {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        Assert.Equal(["sample"], (await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.False(File.Exists(VolumeFile(other, "planted.csv")));
        Assert.Equal("secret\nother user's\n", await File.ReadAllTextAsync(VolumeFile(other, "theirs.csv")));
        Assert.NotEmpty(await File.ReadAllTextAsync("/etc/passwd"));
    }

    private string VolumeFile(string user, string relative)
    {
        var path = Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    private async Task<(HttpClient Client, string Name)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("f");
        var client = platform.CreateApiClient(await platform.CreateUserAsync(name));
        // The default volumes exist once the user first asks for them.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/files/volumes")).StatusCode);
        return (client, name);
    }

    private static async Task<JsonElement> QueryAsync(HttpClient client, string sql)
    {
        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        var sets = JsonDocument.Parse(body).RootElement.GetProperty("resultSets");
        return sets.GetArrayLength() > 0 ? sets[0].Clone() : default;
    }

    private static string Text(JsonElement set) => set.GetProperty("rows").GetRawText();

    // Reads a file with astropy into JSON: names, dtype kinds, and each column's values (masked or NaN as null).
    private async Task<JsonElement> AstropyAsync(byte[] file, string extension, string read)
    {
        var path = Path.Combine(platform.DataDirectory, Guid.NewGuid().ToString("N") + "." + extension);
        await File.WriteAllBytesAsync(path, file);
        var script = "import json, sys, math\npath = sys.argv[1]\n" + read + """

            def kind(c):
                d = t[c].dtype
                return 'U' if d.kind in 'USO' else d.kind + str(d.itemsize)
            def value(c, i):
                col = t[c]
                if hasattr(col, 'mask') and bool(col.mask[i]):
                    return None
                v = col[i]
                if hasattr(v, 'item'):
                    v = v.item()
                if isinstance(v, bytes):
                    v = v.decode()
                if isinstance(v, float) and math.isnan(v):
                    return None
                if isinstance(v, str) and v == '' and kind(c) == 'U':
                    return None
                return v
            out = {"names": t.colnames, "kinds": [kind(c) for c in t.colnames]}
            for c in t.colnames:
                out[c.lower()] = [value(c, i) for i in range(len(t))]
            print(json.dumps(out))
            """;
        return JsonDocument.Parse(await RunPythonAsync(script, path)).RootElement;
    }

    private static async Task<string> RunPythonAsync(string script, string path)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", script, path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "astropy failed (apt-get install -y python3-astropy): " + error);
        return output;
    }

    // Parquet.Net maps properties by name; the names are the table's columns.
#pragma warning disable IDE1006, SA1300, CA1707
    public sealed class SampleRow
    {
        public long? id { get; set; }

        public double? ra { get; set; }

        public string? name { get; set; }

        public bool? flag { get; set; }
    }

    public sealed class DemoRow
    {
        public long? id { get; set; }

        public double? ra { get; set; }

        public string? @class { get; set; }
    }
#pragma warning restore IDE1006, SA1300, CA1707
}
