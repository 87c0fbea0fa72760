using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using OpenSciServer.Astro;
using OpenSciServer.CasJobs.Contexts;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.Sky;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// A catalog built by the platform's import (Parquet with ra and dec → HEALPix column, ordered by it) of 1,000,000
/// positions: uniform over the sphere, plus crowds around both poles and on both sides of ra = 0/360, so cones there
/// cross the awkward edges.
/// </summary>
public sealed class SkyCatalogFixture : IDisposable
{
    public const int Rows = 1_000_000;

    public SkyCatalogFixture()
    {
        Folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-sky-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var parquet = Path.Combine(Folder, "stars.parquet");
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            Run(db, "SELECT setseed(0.42)");
            Run(db, "SET threads = 1");
            // 85 % uniform; 5 % within 2° of each pole; 5 % within 1° of ra = 0 (on both sides), |dec| < 20.
            Run(db, $"""
                COPY (
                  SELECT i AS id,
                    CASE WHEN k < 85 THEN random() * 360
                         WHEN k < 95 THEN random() * 360
                         WHEN k < 100 THEN (random() * 2 - 1 + 360) % 360
                         END AS ra,
                    CASE WHEN k < 85 THEN degrees(asin(2 * random() - 1))
                         WHEN k < 90 THEN 90 - random() * 2
                         WHEN k < 95 THEN -90 + random() * 2
                         ELSE random() * 40 - 20 END AS dec,
                    random() * 10 + 12 AS mag
                  FROM (SELECT i, CAST(floor(random() * 100) AS INTEGER) AS k FROM range({Rows}) t(i))
                ) TO '{parquet}' (FORMAT parquet)
                """);
        }

        Catalog = Path.Combine(Folder, "catalog.duckdb");
        var count = CatalogBuilder.Build(new WorkerRequest(Catalog, parquet, "1GiB", 2, 0, []), new WorkerCatalogBuild(CatalogBuilder.Parquet, "stars")).Rows;
        Assert.Equal(Rows, count);
        using var session = Open();
        Sky = ReadSky(session);
        using var command = session.CreateCommand();
        command.CommandText = "SELECT id, ra, dec FROM stars";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            Positions.Add((reader.GetInt64(0), reader.GetDouble(1), reader.GetDouble(2)));
        }
    }

    /// <summary>Every row's id and position, for distances computed here rather than by DuckDB.</summary>
    public List<(long Id, double Ra, double Dec)> Positions { get; } = new(Rows);

    public string Folder { get; }

    public string Catalog { get; }

    public SkyCatalog Sky { get; }

    /// <summary>A user session on the catalog, as a worker opens it: MyDB in memory, the catalog attached read-only, locked.</summary>
    public DuckDBConnection Open()
    {
        var db = DuckDbSandbox.OpenUnlocked(DuckDbSandbox.InMemory, Catalog);
        // So EXPLAIN ANALYZE counts the rows each scan read (set before the configuration is locked).
        Run(db, """SET custom_profiling_settings = '{"OPERATOR_ROWS_SCANNED": "true"}'""");
        Run(db, "SET enable_profiling = 'no_output'"); // the setting above turns profiling on; keep it off the console
        return DuckDbSandbox.Lock(db, new DuckDbLimits("1GiB", 2));
    }

    public static SkyCatalog ReadSky(DuckDBConnection db)
    {
        var columns = new List<(string, string, string, string?)>();
        using var command = db.CreateCommand();
        command.CommandText = SkyFunctions.ColumnsSql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return SkyFunctions.Read(columns);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    internal static void Run(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

public sealed class SkyQueryTests(SkyCatalogFixture catalog) : IClassFixture<SkyCatalogFixture>
{
    private const long RowGroup = 122_880;

    [Fact]
    public void Import_WithRaAndDec_AddsAMarkedHealpixColumn_OrderedByIt()
    {
        using var db = catalog.Open();

        var index = Assert.Single(catalog.Sky.Tables);
        Assert.Equal(("stars", "ra", "dec", "healpix", 16), (index.Table, index.Ra, index.Dec, index.Column, index.Order));
        Assert.Equal(0L, Scalar(db, "SELECT count(*) FROM (SELECT healpix < lag(healpix) OVER (ORDER BY rowid) AS back FROM stars) WHERE back"));
        // The column is HEALPix itself, not merely some ordering: spot-check rows against the library.
        foreach (var row in Rows(db, "SELECT ra, dec, healpix FROM stars USING SAMPLE 50 ROWS (reservoir, 7)"))
        {
            Assert.Equal(Healpix.Ang2Pix(16, (double)row[0]!, (double)row[1]!), (long)row[2]!);
        }
    }

    public static TheoryData<double, double, double> Cones => new()
    {
        { 0, 90, 0.5 },            // on the north pole
        { 123.4, -90, 1.5 },       // on the south pole
        { 200, 89.2, 1.0 },        // over the north pole from one side
        { 17, -88.9, 2.0 },        // over the south pole
        { 0, 0, 0.3 },             // on ra = 0
        { 359.95, 5, 0.25 },       // across ra = 360 from below
        { 0.02, -12, 0.7 },        // across ra = 0 from above
        { -0.5, 3, 0.6 },          // a negative ra is the same as 359.5
        { 45, 41.8103148957786, 0.4 }, // a corner where faces 0, 4 and 5 meet
        { 90, 0, 0.5 },            // the corner between faces 5 and 6 on the equator
        { 181.3, 23.5, 1 / 60.0 }, // one arcminute
        { 77.7, -33.3, 1 / 3600.0 }, // one arcsecond
        { 300, 10, 15 },           // a large cone
        { 10, 20, 100 },           // more than a hemisphere
    };

    [Theory]
    [MemberData(nameof(Cones))]
    public void Cone_ThroughTheIndex_IsExactlyTheBruteForceAnswer(double ra0, double dec0, double radius)
    {
        using var db = catalog.Open();
        var centre = string.Create(CultureInfo.InvariantCulture, $"{ra0:R}, {dec0:R}, {radius:R}");
        var sql = Translate($"SELECT id FROM stars WHERE cone(ra, dec, {centre}) ORDER BY id");

        var indexed = Ids(db, sql);
        var bruteForce = Ids(db, $"SELECT id FROM stars WHERE angdist(ra, dec, {centre[..centre.LastIndexOf(',')]}) <= {radius.ToString("R", CultureInfo.InvariantCulture)} ORDER BY id");
        var reference = ReferenceIds(ra0, dec0, radius, out var onTheEdge);

        Assert.Contains("\"healpix\" >= ", sql, StringComparison.Ordinal);
        Assert.Equal(bruteForce, indexed);
        // And against the distance computed here, apart from points within a nano-degree of the edge where rounding decides.
        Assert.Empty(indexed.Except(reference).Except(onTheEdge));
        Assert.Empty(reference.Except(indexed).Except(onTheEdge));
        if (radius >= 0.25)
        {
            Assert.NotEmpty(indexed);
        }
    }

    [Fact]
    public void Cone_OnePixelCornerGrid_MatchesBruteForce_AtManyRandomCentres()
    {
        using var db = catalog.Open();
        var random = new Random(5);
        for (var i = 0; i < 20; i++)
        {
            // Centres on order-6 pixel corners and radii around the pixel size: cones straddle several pixels of every coarser order.
            var pixel = random.NextInt64(Healpix.PixelCount(6));
            var (ra, dec) = Healpix.Pix2Ang(6, pixel);
            var radius = random.NextDouble() * 1.5;
            var centre = string.Create(CultureInfo.InvariantCulture, $"{ra:R}, {dec:R}");
            var r = radius.ToString("R", CultureInfo.InvariantCulture);
            var indexed = Ids(db, Translate($"SELECT id FROM stars s WHERE cone(s.ra, s.dec, {centre}, {r}) ORDER BY id"));
            var bruteForce = Ids(db, $"SELECT id FROM stars WHERE angdist(ra, dec, {centre}) <= {r} ORDER BY id");
            Assert.Equal(bruteForce, indexed);
        }
    }

    [Fact]
    public void Cone_OneArcminute_ScansAFewRowGroups_NotTheTable()
    {
        using var db = catalog.Open();
        var sql = Translate("SELECT count(*) FROM stars WHERE cone(ra, dec, 181.3, 23.5, 1 / 60.0)");

        var indexedScan = RowsScanned(db, sql);
        var bruteForceScan = RowsScanned(db, "SELECT count(*) FROM stars WHERE angdist(ra, dec, 181.3, 23.5) <= 1 / 60.0");

        // 1,000,000 rows are 9 row groups of 122,880: a one-arcminute cone lies in one (two if it straddles a boundary).
        Assert.Equal(SkyCatalogFixture.Rows, bruteForceScan);
        Assert.True(indexedScan <= 2 * RowGroup, $"the indexed cone scanned {indexedScan} rows");
    }

    [Fact]
    public void FGetNearbyObjEq_GivesTheConesRows_WithDistanceInArcminutes_ThroughTheIndex()
    {
        using var db = catalog.Open();
        var sql = Translate("SELECT TOP 1000 n.objID, n.id, n.distance, n.mag FROM dbo.fGetNearbyObjEq(359.9, 1.0, 30) n ORDER BY n.distance");

        var rows = Rows(db, sql);
        var cone = Ids(db, "SELECT id FROM stars WHERE angdist(ra, dec, 359.9, 1.0) <= 0.5 ORDER BY id");

        Assert.Equal(cone, rows.Select(r => (long)r[1]!).Order().ToList());
        Assert.All(rows, r => Assert.Equal(r[0], r[1]));
        Assert.True(rows.Count > 10);
        var distances = rows.Select(r => (double)r[2]!).ToList();
        Assert.Equal(distances.Order().ToList(), distances);
        Assert.True(distances[^1] <= 30);
        Assert.True(RowsScanned(db, sql) <= 2 * RowGroup);
        // DuckDB SQL (LIMIT) gets the same rows through the same rewrite.
        Assert.Equal(rows.Count, Rows(db, Translate("SELECT * FROM fGetNearbyObjEq(359.9, 1.0, 30) LIMIT 1000")).Count);
    }

    [Fact]
    public void Cone_InDuckDbSql_AndOnQualifiedJoins_UsesTheIndex_ButNotForAnotherTablesColumns()
    {
        var duck = Translate("SELECT id FROM stars WHERE cone(ra, dec, 10, 10, 0.5) LIMIT 5");
        var join = Translate("SELECT a.id FROM stars a JOIN stars b ON a.id = b.id WHERE cone(a.ra, a.dec, 10, 10, 0.5)");
        var unqualifiedJoin = Translate("SELECT a.id FROM stars a JOIN stars b ON a.id = b.id WHERE cone(ra, dec, 10, 10, 0.5)");
        var subquery = Translate("SELECT * FROM (SELECT ra, dec FROM stars) s WHERE cone(s.ra, s.dec, 10, 10, 0.5)");
        var cte = Translate("WITH stars AS (SELECT 1.0 AS ra, 2.0 AS dec) SELECT * FROM stars WHERE cone(ra, dec, 10, 10, 0.5)");

        Assert.Contains("\"healpix\" >= ", duck, StringComparison.Ordinal);
        Assert.Contains("a.\"healpix\" >= ", join, StringComparison.Ordinal);
        Assert.DoesNotContain("healpix", unqualifiedJoin, StringComparison.Ordinal);
        Assert.DoesNotContain("healpix", subquery, StringComparison.Ordinal);
        Assert.DoesNotContain("healpix", cte, StringComparison.Ordinal);
        using var db = catalog.Open();
        Assert.Equal(Ids(db, "SELECT a.id FROM stars a WHERE angdist(a.ra, a.dec, 10, 10) <= 0.5 ORDER BY 1"), Ids(db, join + " ORDER BY 1"));
    }

    [Fact]
    public void Xmatch_AllPairsAndNearest_EqualTheBruteForceCrossJoin()
    {
        using var db = catalog.Open();
        // 8,000 catalog stars (a sample, and all of them at the north pole and at ra = 0) and 1,200 probes: near those stars
        // (0 to 3 arcsec off) and random ones, including at the pole and on ra = 0.
        SkyCatalogFixture.Run(db, "CREATE TABLE memory.near AS SELECT * FROM stars WHERE id IN (SELECT id FROM stars USING SAMPLE 5000 ROWS (reservoir, 3)) OR dec > 89.9 OR ra < 0.01 OR ra > 359.99");
        SkyCatalogFixture.Run(db, """
            CREATE TABLE memory.probes AS
            SELECT row_number() OVER () AS pid, ra, dec FROM (
              SELECT (ra + (random() - 0.5) * 6 / 3600 / greatest(cos(radians(dec)), 0.01) + 360) % 360 AS ra,
                     greatest(-90, least(90, dec + (random() - 0.5) * 6 / 3600)) AS dec
              FROM near USING SAMPLE 1000 ROWS (reservoir, 3)
              UNION ALL SELECT random() * 360, degrees(asin(2 * random() - 1)) FROM range(100)
              UNION ALL SELECT random() * 360, 89.99 + random() * 0.01 FROM range(50)
              UNION ALL SELECT (359.9999 + random() * 0.0002) % 360, random() FROM range(50))
            """);

        var bruteForce = Pairs(db, "SELECT p.pid, n.id, angdist(p.ra, p.dec, n.ra, n.dec) * 3600 FROM probes p, near n WHERE angdist(p.ra, p.dec, n.ra, n.dec) * 3600 <= 2.5");
        var predicate = Pairs(db, "SELECT p.pid, n.id, angdist_arcsec(p.ra, p.dec, n.ra, n.dec) FROM probes p JOIN near n ON xmatch(p.ra, p.dec, n.ra, n.dec, 2.5)");
        var table = Pairs(db, "SELECT x.t1.pid, x.t2.id, x.distance_arcsec FROM xmatch('probes', 'near', 2.5) x");
        var nearest = Pairs(db, "SELECT x.t1.pid, x.t2.id, x.distance_arcsec FROM xmatch_nearest('probes', 'near', 2.5) x");

        Assert.True(bruteForce.Count > 500, $"{bruteForce.Count} pairs");
        Assert.Equal(bruteForce.Select(p => (p.A, p.B)), predicate.Select(p => (p.A, p.B)));
        Assert.Equal(bruteForce.Select(p => (p.A, p.B)), table.Select(p => (p.A, p.B)));
        Assert.All(table.Zip(bruteForce), z => Assert.Equal(z.Second.Distance, z.First.Distance, 9));
        var expectedNearest = bruteForce.GroupBy(p => p.A).Select(g => g.MinBy(p => p.Distance)).ToList();
        Assert.Equal(expectedNearest.Select(p => (p!.A, p.Distance)), nearest.Select(p => (p.A, p.Distance)));
    }

    [Theory]
    [InlineData("SELECT * FROM stars WHERE cone(ra, dec, 10, 20, -1)", "cone: the radius must be between 0 and 180 degrees; got -1.")]
    [InlineData("SELECT * FROM stars WHERE cone(ra, dec, 10, 20, 200)", "cone: the radius must be between 0 and 180 degrees; got 200.")]
    [InlineData("SELECT * FROM stars WHERE cone(ra, dec, 10, 95, 1)", "cone: the centre's declination must be between -90 and 90 degrees; got 95.")]
    [InlineData("SELECT * FROM fGetNearbyObjEq(10, 20, -0.5)", "fGetNearbyObjEq: the radius must be between 0 and 10800 arcminutes; got -0.5.")]
    [InlineData("SELECT * FROM fGetNearbyObjEq(ra, 20, 1)", "fGetNearbyObjEq: the centre and the radius must be numbers written in the query")]
    [InlineData("SELECT * FROM fGetNearbyObjEq(10, 20)", "fGetNearbyObjEq takes three arguments")]
    public void Translate_BadSkyArguments_Returns400NamingTheFunction(string sql, string message)
    {
        var error = Assert.Throws<PlatformException>(() => TSqlTranslator.Translate(sql, catalog.Sky));
        Assert.Equal(ProblemKind.Invalid, error.Kind);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        // Checked also when the context is not known yet (a long query at submission).
        Assert.StartsWith(message, Assert.Throws<PlatformException>(() => TSqlTranslator.Translate(sql)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT count(*) FROM stars WHERE cone(ra, dec, ra, dec, mag - 100)", "cone: the radius must be between 0 and 180 degrees")]
    [InlineData("SELECT count(*) FROM stars a JOIN stars b ON xmatch(a.ra, a.dec, b.ra, b.dec, 7200)", "xmatch: the radius must be between 0 and 3600 arcsec")]
    [InlineData("SELECT count(*) FROM xmatch('stars', 'stars', -1)", "xmatch: the radius must be between 0 and 3600 arcsec")]
    public void Macros_BadRadiusFromData_FailWithAMessageNamingTheFunction(string sql, string message)
    {
        using var db = catalog.Open();
        var error = Assert.ThrowsAny<DuckDBException>(() => Scalar(db, Translate(sql)));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FGetNearbyObjEq_InMyDb_SaysThereIsNoSkyTable()
    {
        var error = Assert.Throws<PlatformException>(() => TSqlTranslator.Translate("SELECT * FROM fGetNearbyObjEq(10, 20, 1)", SkyCatalog.None));
        Assert.Contains("this context has no sky-indexed table", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Angdist_IsAccurateForTinyAndLargeSeparations()
    {
        using var db = catalog.Open();
        Assert.Equal(1.0, (double)Scalar(db, "SELECT angdist_arcsec(10, 20, 10, 20 + 1 / 3600.0)")!, 9);
        Assert.Equal(0.00072, (double)Scalar(db, "SELECT angdist_arcsec(359.9999999, 0, 0.0000001, 0)")!, 9);
        Assert.Equal(90.0, (double)Scalar(db, "SELECT angdist(0, 90, 123, 0)")!, 12);
        Assert.Equal(180.0, (double)Scalar(db, "SELECT angdist(0, 0, 180, 0)")!, 6);
        Assert.Equal(SkyAngles.Separation(12.3, -45.6, 78.9, 10.1), (double)Scalar(db, "SELECT angdist(12.3, -45.6, 78.9, 10.1)")!, 12);
    }

    private string Translate(string sql) => Assert.Single(TSqlTranslator.Translate(sql, catalog.Sky).Statements).Sql;

    private static List<long> Ids(DuckDBConnection db, string sql) => Rows(db, sql).Select(r => (long)r[0]!).ToList();

    private List<long> ReferenceIds(double ra0, double dec0, double radius, out List<long> onTheEdge)
    {
        var inside = new List<long>();
        onTheEdge = [];
        foreach (var (id, ra, dec) in catalog.Positions)
        {
            var d = SkyAngles.Separation(ra, dec, ra0, dec0);
            if (Math.Abs(d - radius) < 1e-9)
            {
                onTheEdge.Add(id);
            }
            else if (d < radius)
            {
                inside.Add(id);
            }
        }

        return inside;
    }

    private static List<(long A, long B, double Distance)> Pairs(DuckDBConnection db, string sql) =>
        Rows(db, sql).Select(r => (Convert.ToInt64(r[0], CultureInfo.InvariantCulture), Convert.ToInt64(r[1], CultureInfo.InvariantCulture), (double)r[2]!))
            .OrderBy(p => p.Item1).ThenBy(p => p.Item2).ToList();

    private static long RowsScanned(DuckDBConnection db, string sql)
    {
        var plan = JsonDocument.Parse(Explain(db, sql, json: true)).RootElement;
        return Sum(plan);

        static long Sum(JsonElement node)
        {
            var own = node.TryGetProperty("operator_rows_scanned", out var rows) ? rows.GetInt64() : 0;
            return own + (node.TryGetProperty("children", out var children) ? children.EnumerateArray().Sum(Sum) : 0);
        }
    }

    private static string Explain(DuckDBConnection db, string sql, bool json)
    {
        using var command = db.CreateCommand();
        command.CommandText = (json ? "EXPLAIN (ANALYZE, FORMAT JSON) " : "EXPLAIN ANALYZE ") + sql;
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return reader.GetString(1);
    }

    private static object? Scalar(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static List<object?[]> Rows(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}
