using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using OpenSciServer.CasJobs.Engines.Postgres;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// The same sky catalog twice: as a DuckDB catalog context imported from CSV (<see cref="DuckDbContext"/>, HEALPix column
/// built by the platform) and as a PostgreSQL catalog with q3c (<see cref="PostgresContext"/>, schema <c>xsky</c>, q3c index,
/// clustered), public; and one user with the same targets in both MyDBs (the DuckDB file, and the schema in PostgreSQL).
/// The positions crowd at both poles and on both sides of ra = 0/360, with points exactly on the poles and on ra = 0 and 360.
/// </summary>
public sealed class SkyCrossmatchPlatform : PlatformFactory
{
    public const string DuckDbContext = "DuckX";

    public const string PostgresContext = "PgX";

    public string CatalogDatabase { get; } = "xcat" + Guid.NewGuid().ToString("N")[..12];

    public IReadOnlyList<Position> Sources { get; } = MakeSources();

    public IReadOnlyList<Position> Targets { get; } = MakeTargets(MakeSources());

    public HttpClient User { get; private set; } = null!;

    public string UserName { get; } = UniqueName("x");

    public string AdminConnectionString { get; private set; } = "";

    public sealed record Position(long Id, double Ra, double Dec);

    public override async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        await using (var postgres = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await postgres.OpenAsync();
            await Execute(postgres, $"CREATE DATABASE {CatalogDatabase}");
        }

        AdminConnectionString = server.ConnectionString(CatalogDatabase);
        await using (var catalog = new NpgsqlConnection(AdminConnectionString))
        {
            await catalog.OpenAsync();
            await Execute(catalog, "CREATE EXTENSION q3c; CREATE SCHEMA xsky; CREATE TABLE xsky.sources (id bigint, ra double precision, dec double precision, mag real)");
            await using (var copy = await catalog.BeginBinaryImportAsync("COPY xsky.sources (id, ra, dec, mag) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var s in Sources)
                {
                    await copy.StartRowAsync();
                    await copy.WriteAsync(s.Id, NpgsqlDbType.Bigint);
                    await copy.WriteAsync(s.Ra, NpgsqlDbType.Double);
                    await copy.WriteAsync(s.Dec, NpgsqlDbType.Double);
                    await copy.WriteAsync(Mag(s.Id), NpgsqlDbType.Real);
                }

                await copy.CompleteAsync();
            }

            await Execute(catalog, "CREATE INDEX sources_q3c ON xsky.sources (q3c_ang2ipix(ra, dec)); CLUSTER xsky.sources USING sources_q3c; ANALYZE xsky.sources;");
        }

        Settings["CasJobs:PostgresServers:hpc:ConnectionString"] = AdminConnectionString;
        Settings["CasJobs:QuickQueryMaxRows"] = "200000";
        await base.InitializeAsync();

        using var admin = CreateApiClient(await LoginAdminAsync());
        var registered = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts",
            new { name = PostgresContext, engine = "postgres", server = "hpc", database = CatalogDatabase, schema = "xsky", isPublic = true, timeoutSeconds = 60 });
        Assert.True(registered.StatusCode == HttpStatusCode.Created, await registered.Content.ReadAsStringAsync());
        var world = await CatalogWorld.CreateAsync(this);
        var csv = world.Text("sources.csv", "id,ra,dec,mag\n" + string.Join('\n', Sources.Select(s => Csv(s.Id, s.Ra, s.Dec, Mag(s.Id)))) + "\n");
        await world.RegisterAsync(DuckDbContext, csv, isPublic: true);

        User = CreateApiClient(await CreateUserAsync(UserName));
        var upload = await User.PostAsync("/CasJobs/RestApi/contexts/MyDB/Tables/targets",
            new StringContent("id,ra,dec\n" + string.Join('\n', Targets.Select(t => Csv(t.Id, t.Ra, t.Dec))) + "\n", Encoding.UTF8, "text/csv"));
        Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());
        var created = await User.PostAsJsonAsync($"/api/casjobs/contexts/{PostgresContext}/query",
            new { query = "CREATE TABLE mydb.targets AS SELECT id::bigint AS id, ra, dec FROM (VALUES " + string.Join(", ", Targets.Select(t => FormattableString.Invariant($"({t.Id}, {R(t.Ra)}::float8, {R(t.Dec)}::float8)"))) + ") AS v(id, ra, dec)" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
    }

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Csv(params object[] values) => string.Join(',', values.Select(v => v is double d ? R(d) : v is float f ? f.ToString("R", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture)));

    private static float Mag(long id) => 14 + (id % 97) / 10f;

    /// <summary>Uniform sources (a Fibonacci lattice), crowds of 200 within 0.03° at both poles, across ra = 0 at dec 10 and at (180, 0), and exact edge points.</summary>
    private static List<Position> MakeSources()
    {
        var random = new Random(8);
        var list = new List<Position>();
        for (var i = 1; i <= 2000; i++)
        {
            list.Add(new Position(list.Count + 1, (i * 137.50776405003785) % 360, Math.Asin((2.0 * (i - 0.5) / 2000) - 1) * 180 / Math.PI));
        }

        foreach (var centre in Crowds)
        {
            for (var i = 0; i < 200; i++)
            {
                var (ra, dec) = Near(random, centre.Ra, centre.Dec, 0.03);
                list.Add(new Position(list.Count + 1, ra, dec));
            }
        }

        foreach (var (ra, dec) in new[] { (0.0, 90.0), (123.0, 90.0), (0.0, -90.0), (0.0, 10.0), (360.0, 10.0005), (359.9999999, 10.0), (0.0, 0.0) })
        {
            list.Add(new Position(list.Count + 1, ra, dec));
        }

        return list;
    }

    /// <summary>Targets in the crowds, uniform ones, some within 1.5 arcsec of a source (every 50th, and the edge points), and edge points of their own.</summary>
    private static List<Position> MakeTargets(List<Position> sources)
    {
        var random = new Random(9);
        var list = new List<Position>();
        foreach (var source in sources.Where(s => s.Id % 50 == 0 || s.Id > sources.Count - 7))
        {
            var (ra, dec) = Near(random, source.Ra, source.Dec, 1.5 / 3600);
            list.Add(new Position(list.Count + 1, ra, dec));
        }

        foreach (var centre in Crowds)
        {
            for (var i = 0; i < 30; i++)
            {
                var (ra, dec) = Near(random, centre.Ra, centre.Dec, 0.03);
                list.Add(new Position(list.Count + 1, ra, dec));
            }
        }

        for (var i = 0; i < 100; i++)
        {
            list.Add(new Position(list.Count + 1, random.NextDouble() * 360, Math.Asin((2 * random.NextDouble()) - 1) * 180 / Math.PI));
        }

        foreach (var (ra, dec) in new[] { (200.0, 90.0), (10.0, -89.9995), (0.0002, 10.0001), (359.9997, 9.9998), (0.0, 0.0) })
        {
            list.Add(new Position(list.Count + 1, ra, dec));
        }

        return list;
    }

    public static readonly (double Ra, double Dec)[] Crowds = [(0, 90), (0, -90), (0, 10), (180, 0)];

    /// <summary>A uniform position within <paramref name="radius"/> degrees of a centre (poles and ra = 0 included).</summary>
    private static (double Ra, double Dec) Near(Random random, double ra0, double dec0, double radius)
    {
        if (Math.Abs(dec0) == 90)
        {
            return (random.NextDouble() * 360, dec0 - (Math.Sign(dec0) * radius * Math.Sqrt(random.NextDouble())));
        }

        var dec = dec0 + ((random.NextDouble() * 2) - 1) * radius;
        var ra = ra0 + (((random.NextDouble() * 2) - 1) * radius / Math.Cos(dec * Math.PI / 180));
        return (((ra % 360) + 360) % 360, dec);
    }

    /// <summary>The great-circle distance in arcseconds (haversine): the reference both engines are held to.</summary>
    public static double Arcsec(double ra1, double dec1, double ra2, double dec2)
    {
        const double Rad = Math.PI / 180;
        var s = Math.Pow(Math.Sin((dec2 - dec1) * Rad / 2), 2) + (Math.Cos(dec1 * Rad) * Math.Cos(dec2 * Rad) * Math.Pow(Math.Sin((ra2 - ra1) * Rad / 2), 2));
        return 2 * Math.Asin(Math.Min(1, Math.Sqrt(s))) / Rad * 3600;
    }

    private static async Task Execute(NpgsqlConnection conn, string sql)
    {
        await using var command = new NpgsqlCommand(sql, conn);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// The crossmatch table functions and the cone searches give the same answers in the DuckDB and the PostgreSQL engine, on
/// the same data, through the HTTP API, and both equal a brute-force reference computed here; PostgreSQL's form reads the
/// catalog through its q3c index; bad calls are refused with a 400 naming the function.
/// </summary>
public sealed class PostgresSkyCrossmatchTests(SkyCrossmatchPlatform platform) : IClassFixture<SkyCrossmatchPlatform>
{
    private const string Duck = SkyCrossmatchPlatform.DuckDbContext;

    private const string Pg = SkyCrossmatchPlatform.PostgresContext;

    private sealed record Pair(long Target, long Source, double Arcsec);

    /// <summary>Every (target, source) pair within the radius, by the haversine formula, ordered.</summary>
    private List<Pair> Reference(double radiusArcsec)
    {
        var pairs = new List<Pair>();
        foreach (var t in platform.Targets)
        {
            foreach (var s in platform.Sources)
            {
                var d = SkyCrossmatchPlatform.Arcsec(t.Ra, t.Dec, s.Ra, s.Dec);
                // No pair sits on the radius within rounding: otherwise the engines could rightly differ from the reference.
                Assert.False(Math.Abs(d - radiusArcsec) < 1e-6, $"target {t.Id} and source {s.Id} are {d} arcsec apart, on the radius");
                if (d <= radiusArcsec)
                {
                    pairs.Add(new Pair(t.Id, s.Id, d));
                }
            }
        }

        return pairs.OrderBy(p => p.Target).ThenBy(p => p.Source).ToList();
    }

    private async Task<List<JsonElement[]>> RowsAsync(string context, string sql, HttpClient? client = null)
    {
        var response = await (client ?? platform.User).PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{context}: {sql}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("resultSets")[0].GetProperty("rows").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.Clone()).ToArray()).ToList();
    }

    private async Task<string> RefusedAsync(string context, string sql)
    {
        var response = await platform.User.PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{context}: {sql}: expected 400, got {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString()!;
    }

    private async Task<List<Pair>> PairsAsync(string context, string sql) =>
        (await RowsAsync(context, sql)).Select(r => new Pair(r[0].GetInt64(), r[1].GetInt64(), r[2].GetDouble())).OrderBy(p => p.Target).ThenBy(p => p.Source).ToList();

    private static void AssertSamePairs(List<Pair> expected, List<Pair> actual, string engine)
    {
        Assert.True(expected.Select(p => (p.Target, p.Source)).SequenceEqual(actual.Select(p => (p.Target, p.Source))),
            $"{engine}: {actual.Count} pairs, expected {expected.Count}; missing {string.Join(", ", expected.Select(p => (p.Target, p.Source)).Except(actual.Select(p => (p.Target, p.Source))).Take(5))}, " +
            $"extra {string.Join(", ", actual.Select(p => (p.Target, p.Source)).Except(expected.Select(p => (p.Target, p.Source))).Take(5))}");
        Assert.All(expected.Zip(actual), z => Assert.True(Math.Abs(z.First.Arcsec - z.Second.Arcsec) < 1e-6, $"{engine}: {z.First} vs {z.Second}"));
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(30.0)]
    [InlineData(300.0)]
    public async Task Xmatch_SameDataInBothEngines_SamePairsAsTheBruteForceReference(double radius)
    {
        var sql = FormattableString.Invariant($"SELECT x.t1.id, x.t2.id, x.distance_arcsec FROM xmatch('mydb.targets', 'sources', {radius}) x");
        var reference = Reference(radius);

        var duck = await PairsAsync(Duck, sql);
        var pg = await PairsAsync(Pg, sql);

        Assert.True(reference.Count > 20, $"{reference.Count} pairs");
        AssertSamePairs(reference, duck, "DuckDB");
        AssertSamePairs(reference, pg, "PostgreSQL");
        if (radius >= 30)
        {
            // The awkward places are in the answer: both poles, and pairs across ra = 0/360.
            var targets = platform.Targets.ToDictionary(t => t.Id);
            var sources = platform.Sources.ToDictionary(s => s.Id);
            Assert.Contains(reference, p => targets[p.Target].Dec > 89.99 && sources[p.Source].Dec > 89.99);
            Assert.Contains(reference, p => targets[p.Target].Dec < -89.99);
            Assert.Contains(reference, p => Math.Abs(targets[p.Target].Ra - sources[p.Source].Ra) > 359);
        }
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(30.0)]
    [InlineData(300.0)]
    public async Task XmatchNearest_SameDataInBothEngines_TheNearestSourceOfEachMatchedTarget(double radius)
    {
        var sql = FormattableString.Invariant($"SELECT x.t1.id, x.t2.id, x.distance_arcsec FROM xmatch_nearest('mydb.targets', 'sources', {radius}) x");
        var reference = Reference(radius).GroupBy(p => p.Target).ToDictionary(g => g.Key, g => g.ToList());

        var duck = await PairsAsync(Duck, sql);
        var pg = await PairsAsync(Pg, sql);

        foreach (var (engine, rows) in new[] { ("DuckDB", duck), ("PostgreSQL", pg) })
        {
            Assert.Equal(reference.Keys.Order(), rows.Select(r => r.Target));
            Assert.All(rows, r =>
            {
                var nearest = reference[r.Target].Min(p => p.Arcsec);
                Assert.True(Math.Abs(r.Arcsec - nearest) < 1e-6, $"{engine}: target {r.Target} at {r.Arcsec}, nearest {nearest}");
                // Ties (the two sources on the north pole) may go either way.
                Assert.Contains(reference[r.Target], p => p.Source == r.Source && p.Arcsec - nearest < 1e-9);
            });
        }
    }

    [Theory]
    [InlineData(0.0, 90.0, 0.02)]
    [InlineData(77.0, -89.99, 0.03)]
    [InlineData(359.995, 10.0, 0.02)]
    [InlineData(0.001, 10.0, 0.05)]
    [InlineData(180.0, 0.0, 0.01)]
    [InlineData(250.0, 30.0, 10.0)]
    public async Task ConeAndFGetNearbyObjEq_SameDataInBothEngines_SameRowsAsTheBruteForceReference(double ra0, double dec0, double radius)
    {
        var reference = platform.Sources.Select(s => (s.Id, Arcmin: SkyCrossmatchPlatform.Arcsec(s.Ra, s.Dec, ra0, dec0) / 60))
            .Where(s => s.Arcmin <= radius * 60).OrderBy(s => s.Id).ToList();
        var cone = FormattableString.Invariant($"SELECT id FROM sources WHERE cone(ra, dec, {ra0}, {dec0}, {radius}) ORDER BY id");
        var nearby = FormattableString.Invariant($"SELECT objID, distance FROM dbo.fGetNearbyObjEq({ra0}, {dec0}, {radius * 60}) ORDER BY objID");

        foreach (var context in new[] { Duck, Pg })
        {
            var ids = (await RowsAsync(context, cone)).Select(r => r[0].GetInt64()).ToList();
            var near = await RowsAsync(context, nearby);

            Assert.Equal(reference.Select(r => r.Id), ids);
            Assert.Equal(reference.Select(r => r.Id), near.Select(r => r[0].GetInt64()));
            Assert.All(reference.Zip(near), z => Assert.True(Math.Abs(z.First.Arcmin - z.Second[1].GetDouble()) < 1e-8, $"{context}: {z.First} vs {z.Second[1]}"));
        }

        Assert.True(reference.Count >= 3, $"{reference.Count} rows");
    }

    [Fact]
    public async Task LongQuery_SelectIntoMyDbFromXmatch_SameTableInBothEngines()
    {
        const string Sql = "SELECT x.t1.id AS mine, x.t2.id AS theirs, x.distance_arcsec INTO mydb.matches FROM xmatch('mydb.targets', 'sources', 30) x";
        var reference = Reference(30);

        foreach (var context in new[] { Duck, Pg })
        {
            var submitted = await platform.User.PostAsJsonAsync("/api/casjobs/jobs", new { context, query = Sql });
            Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
            var job = await WaitForJobAsync((await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
            Assert.True(job.GetProperty("statusName").GetString() == "Finished", job.ToString());
        }

        var duck = await PairsAsync("MyDB", "SELECT mine, theirs, distance_arcsec FROM matches");
        var pg = await PairsAsync(Pg, "SELECT mine, theirs, distance_arcsec FROM mydb.matches");

        AssertSamePairs(reference, duck, "DuckDB");
        AssertSamePairs(reference, pg, "PostgreSQL");
    }

    [Fact]
    public async Task Xmatch_TSqlTopAndOrderByOnTheRowsFields_SameRowsInBothEngines()
    {
        const string Sql = "SELECT TOP 7 x.t1.id AS mine, x.t2.id AS catalog_id, x.t2.mag, x.distance_arcsec\n" +
            "FROM xmatch('mydb.targets', 'sources', 30) AS x\nWHERE x.t2.mag > 15 ORDER BY x.distance_arcsec DESC, x.t1.id";

        var duck = await RowsAsync(Duck, Sql);
        var pg = await RowsAsync(Pg, Sql);

        Assert.Equal(7, pg.Count);
        Assert.Equal(duck.Select(r => (r[0].GetInt64(), r[1].GetInt64(), r[2].GetDouble())), pg.Select(r => (r[0].GetInt64(), r[1].GetInt64(), r[2].GetDouble())));
        Assert.All(duck.Zip(pg), z => Assert.Equal(z.First[3].GetDouble(), z.Second[3].GetDouble(), 1e-6));
    }

    [Fact]
    public async Task Explain_XmatchTableForms_ReadTheCatalogThroughItsQ3cIndex()
    {
        var pairs = await RowsAsync(Pg, "EXPLAIN (COSTS OFF) SELECT x.t1.id, x.t2.id FROM xmatch('mydb.targets', 'sources', 1) x");
        var nearest = await RowsAsync(Pg, "EXPLAIN (COSTS OFF) SELECT x.t1.id, x.t2.id FROM xmatch_nearest('mydb.targets', 'sources', 1) x");

        // (Bitmap) Index Scan on/using sources_q3c, and the catalog never read whole.
        Assert.Contains(pairs, line => line[0].GetString()!.Contains("Index Scan on sources_q3c", StringComparison.Ordinal) || line[0].GetString()!.Contains("Index Scan using sources_q3c", StringComparison.Ordinal));
        Assert.Contains(nearest, line => line[0].GetString()!.Contains("Index Scan on sources_q3c", StringComparison.Ordinal) || line[0].GetString()!.Contains("Index Scan using sources_q3c", StringComparison.Ordinal));
        Assert.DoesNotContain(pairs.Concat(nearest), line => line[0].GetString()!.Contains("Seq Scan on sources", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("SELECT * FROM xmatch('nosuch', 'sources', 1) x", "xmatch: there is no table nosuch (the first table).")]
    [InlineData("SELECT * FROM xmatch_nearest('mydb.targets', 'mydb.NoSuch', 1) x", "xmatch_nearest: there is no table mydb.nosuch (the second table).")]
    [InlineData("SELECT * FROM xmatch('x; drop table mydb.targets', 'sources', 1) x", "xmatch: 'x; drop table mydb.targets' is not a table name; give the first table as 'table', 'schema.table' or 'mydb.table'.")]
    [InlineData("SELECT * FROM xmatch('mydb.targets', 'sources\"; drop table mydb.targets; --', 1) x", "xmatch: 'sources\"; drop table mydb.targets; --' is not a table name")]
    [InlineData("SELECT * FROM xmatch('mydb.targets', '', 1) x", "xmatch: '' is not a table name")]
    [InlineData("SELECT * FROM xmatch(sources, 'sources', 1) x", "xmatch: give the first table's name in quotes, e.g. xmatch('mydb.targets', 'sources', 1.0); got sources.")]
    [InlineData("SELECT * FROM xmatch('mydb.targets', 'sources' || '', 1) x", "xmatch: give the second table's name in quotes")]
    [InlineData("SELECT * FROM xmatch('shared.alice.stars', 'sources', 1) x", "xmatch: 'shared.alice.stars' is a table shared from a DuckDB MyDB, which a PostgreSQL context cannot read")]
    [InlineData("SELECT * FROM xmatch('mydb.targets', 'sources', 7200) x", "xmatch: the radius must be between 0 and 3600 arcsec; got 7200.")]
    [InlineData("SELECT * FROM xmatch_nearest('mydb.targets', 'sources', -1) x", "xmatch_nearest: the radius must be between 0 and 3600 arcsec; got -1.")]
    [InlineData("SELECT * FROM xmatch('mydb.targets', 'sources', 0) x", "xmatch: the radius must be between 0 and 3600 arcsec, and more than 0 in PostgreSQL")]
    [InlineData("SELECT * FROM xmatch('mydb.targets', 'sources', (SELECT 1)) x", "xmatch: the radius must be a number of arcseconds written in the query")]
    [InlineData("SELECT count(*) FROM mydb.targets t JOIN sources s ON xmatch(t.ra, t.dec, s.ra, s.dec, 3600 * 2)", "xmatch: the radius must be between 0 and 3600 arcsec; got 7200.")]
    [InlineData("SELECT xmatch('mydb.targets', 'sources', 1)", "xmatch('table1', 'table2', radius_arcsec) is a table: use it in FROM")]
    [InlineData("SELECT * FROM xmatch_nearest('mydb.targets', 'sources') x", "xmatch_nearest takes three arguments")]
    [InlineData("SELECT * FROM xmatch('pg_catalog.pg_class', 'sources', 1) x", "xmatch: the table pg_catalog.pg_class has no column ra; both tables need the columns ra and dec (degrees).")]
    public async Task Xmatch_BadCalls_400NamingTheFunction(string sql, string expected)
    {
        var message = await RefusedAsync(Pg, sql);
        var still = await RowsAsync(Pg, "SELECT count(*) FROM mydb.targets");

        Assert.StartsWith(expected, message, StringComparison.Ordinal);
        Assert.Equal(platform.Targets.Count, still[0][0].GetInt64());
    }

    [Fact]
    public async Task LongQuery_BadXmatchCall_RefusedAtSubmission()
    {
        var response = await platform.User.PostAsJsonAsync("/api/casjobs/jobs",
            new { context = Pg, query = "SELECT x.t1.id INTO mydb.never FROM xmatch('mydb.targets', 'sources; drop', 1) x" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("xmatch: 'sources; drop' is not a table name", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xmatch_Anonymous_CatalogTablesMatchAndMyDbIsExplained()
    {
        using var anonymous = platform.CreateApiClient();
        var reference = platform.Sources.Count(s => platform.Sources.Any(o => o.Id != s.Id && SkyCrossmatchPlatform.Arcsec(s.Ra, s.Dec, o.Ra, o.Dec) <= 5));

        var self = await RowsAsync(Pg, "SELECT count(DISTINCT x.t1.id) FROM xmatch('sources', 'sources', 5) x WHERE x.t1.id <> x.t2.id", anonymous);
        var response = await anonymous.PostAsJsonAsync($"/api/casjobs/contexts/{Pg}/query", new { query = "SELECT x.t1.id FROM xmatch('mydb.targets', 'sources', 5) x" });

        Assert.Equal(reference, self[0][0].GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("xmatch: there is no table mydb.targets (the first table). Without logging in there is no MyDB: log in to use it.",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Xmatch_RadiusOutOfRange_SameWordsInBothEngines()
    {
        const string Sql = "SELECT x.t1.id FROM xmatch('mydb.targets', 'sources', 7200) x";

        var duck = await RefusedAsync(Duck, Sql);
        var pg = await RefusedAsync(Pg, Sql);

        Assert.Contains("xmatch: the radius must be between 0 and 3600 arcsec; got 7200", duck, StringComparison.Ordinal);
        Assert.Contains("xmatch: the radius must be between 0 and 3600 arcsec; got 7200", pg, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xmatch_WholeRows_FieldsAndTextComeBackTheRowsThemselvesAre400SayingWhatToSelect()
    {
        var fields = await RowsAsync(Pg, "SELECT x.t2.*, x.distance_arcsec FROM xmatch_nearest('mydb.targets', 'sources', 2) x ORDER BY x.t1.id LIMIT 1");
        var text = await RowsAsync(Pg, "SELECT x.t2::text FROM xmatch_nearest('mydb.targets', 'sources', 2) x ORDER BY x.t1.id LIMIT 1");
        var whole = await RefusedAsync(Pg, "SELECT * FROM xmatch_nearest('mydb.targets', 'sources', 2) x");

        Assert.Equal(5, Assert.Single(fields).Length);
        Assert.Equal($"({Assert.Single(fields)[0].GetInt64()},", text[0][0].GetString()![..(fields[0][0].GetInt64().ToString(CultureInfo.InvariantCulture).Length + 2)]);
        Assert.StartsWith("The column 't1' holds values the platform cannot return as they are, such as whole rows (t1 and t2 of xmatch): select their fields instead (x.t1.id", whole, StringComparison.Ordinal);
    }

    private async Task<JsonElement> WaitForJobAsync(long id)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var job = await platform.User.GetFromJsonAsync<JsonElement>($"/api/casjobs/jobs/{id}");
            if (job.GetProperty("status").GetInt32() >= 3)
            {
                return job;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"job {id} did not end: {job}");
            await Task.Delay(100);
        }
    }
}

/// <summary>The rewrite itself, on text: what PostgreSQL receives for the DuckDB forms.</summary>
public sealed class PostgresSkyRewriterTests
{
    [Fact]
    public void Rewrite_DocsExample_BecomesAJoinOnQ3cWithCompositeRowsAndFieldReads()
    {
        var sql = PostgresSkyRewriter.Rewrite("SELECT x.t1.id, x.t2.id, x.distance_arcsec FROM xmatch('mydb.Targets', 'erass_synthetic', 1.0) x");

        Assert.StartsWith("SELECT (x.t1).id, (x.t2).id, x.distance_arcsec FROM (SELECT oss_xmatch_1_t1 AS t1, oss_xmatch_1_t2 AS t2, ", sql, StringComparison.Ordinal);
        Assert.Contains("FROM mydb.\"targets\" AS oss_xmatch_1_t1 JOIN \"erass_synthetic\" AS oss_xmatch_1_t2 ON oss_sky.xmatch(oss_xmatch_1_t1.ra, oss_xmatch_1_t1.\"dec\", oss_xmatch_1_t2.ra, oss_xmatch_1_t2.\"dec\", 1)) x", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_NoAliasQuotedNamesAndLines_NamedAfterTheFunctionCaseKeptLinesKept()
    {
        var sql = PostgresSkyRewriter.Rewrite("SELECT xmatch_nearest.t2.\"Mag\"\nFROM xmatch_nearest(\n  '\"MyCat\".\"Big Table\"',\n  'sky.sources', 2)\nWHERE xmatch_nearest.distance_arcsec < 1");

        Assert.StartsWith("SELECT (xmatch_nearest.t2).\"Mag\"\nFROM (SELECT", sql, StringComparison.Ordinal);
        Assert.Contains("FROM \"MyCat\".\"Big Table\" AS oss_xmatch_nearest_1_t1 CROSS JOIN LATERAL", sql, StringComparison.Ordinal);
        Assert.Contains("FROM \"sky\".\"sources\" AS oss_xmatch_nearest_1_t2", sql, StringComparison.Ordinal);
        Assert.EndsWith(") AS xmatch_nearest\n\n\nWHERE xmatch_nearest.distance_arcsec < 1", sql, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT 'xmatch(''a'', ''b'', 1)' AS words -- xmatch('a', 'b', 1)")]
    [InlineData("SELECT $$ xmatch('a', 'b', 1) $$ /* xmatch('a', 'b', 1) /* nested */ xmatch('c', 'd', 1) */")]
    [InlineData("SELECT t.id FROM mydb.t JOIN sources s ON xmatch(t.ra, t.dec, s.ra, s.dec, 1)")]
    [InlineData("SELECT oss_sky.xmatch(1, 2, 3)")]
    public void Rewrite_StringsCommentsAndTheJoinCondition_LeftAsTheyAre(string sql)
    {
        Assert.Equal(sql, PostgresSkyRewriter.Rewrite(sql));
    }

    [Theory]
    [InlineData("SELECT * FROM xmatch(E'sources', 'sources', 1) x", "give the first table's name in quotes")]
    [InlineData("SELECT * FROM xmatch('a.b.c', 'sources', 1) x", "is not a table name")]
    [InlineData("SELECT * FROM xmatch('sources', '\"unclosed', 1) x", "is not a table name")]
    [InlineData("SELECT * FROM xmatch('sources', 'a .b', 1) x", "is not a table name")]
    public void Rewrite_NamesThatAreNotPlain_Refused(string sql, string expected)
    {
        var error = Assert.Throws<PlatformException>(() => PostgresSkyRewriter.Rewrite(sql));

        Assert.Equal(ProblemKind.Invalid, error.Kind);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
