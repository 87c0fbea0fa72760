using System.Diagnostics;
using System.Text.Json;
using OpenSciServer.Astro.Fits;

namespace OpenSciServer.Tests.Astro;

public sealed class FitsTableWriterTests
{
    private static readonly FitsColumn[] Columns =
    [
        new("id", FitsColumnType.Int64),
        new("ra", FitsColumnType.Double, "deg"),
        new("mag", FitsColumnType.Single, "mag"),
        new("flags", FitsColumnType.Int32),
        new("quality", FitsColumnType.Int16, Nullable: false),
        new("band", FitsColumnType.Byte),
        new("is_star", FitsColumnType.Boolean),
        new("name", FitsColumnType.String, StringWidth: 12),
    ];

    private static readonly object?[][] Rows =
    [
        [1L, 10.5, 21.25f, 7, (short)3, (byte)1, true, "M31"],
        [long.MaxValue, -0.0, float.PositiveInfinity, int.MaxValue, short.MinValue, (byte)0, false, "a'b \"c\""],
        [null, null, null, null, (short)-1, null, null, null],
        [-42L, 359.99999999999994, -1.5e-30f, -7, short.MaxValue, (byte)254, true, "twelve chars"],
    ];

    private const string ReadBack = """
        import sys, json, math
        import numpy as np
        from astropy.io import fits
        from astropy.table import Table

        with fits.open(sys.argv[1]) as hdul:
            hdul.verify("exception")
            hdu = hdul[1]
            out = {"nrows": int(hdu.header["NAXIS2"]), "hdus": len(hdul), "columns": []}
            table = Table.read(hdul, hdu=1)
            for c in hdu.columns:
                raw = hdu.data[c.name]
                col = table[c.name]
                mask = [bool(m) for m in np.ma.getmaskarray(col)]
                def plain(v):
                    v = v.item() if hasattr(v, "item") else v
                    if isinstance(v, bytes):
                        v = v.decode("ascii")
                    if isinstance(v, float) and not math.isfinite(v):
                        v = repr(v)
                    return v
                out["columns"].append({"name": c.name, "format": c.format, "unit": c.unit, "null": c.null,
                                       "dtype": raw.dtype.kind + str(raw.dtype.itemsize // (4 if raw.dtype.kind == "U" else 1)), "values": [plain(v) for v in raw],
                                       "masked": mask})
        print(json.dumps(out))
        """;

    [Fact]
    public async Task Complete_AllColumnTypes_AstropyReadsValuesTypesUnitsAndNulls()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fits-{Guid.NewGuid():N}.fits");
        try
        {
            using (var file = File.Create(path))
            {
                var writer = new FitsTableWriter(file, Columns, extensionName: "RESULT");
                foreach (var row in Rows)
                {
                    writer.WriteRow(row);
                }

                writer.Complete();
            }

            Assert.Equal(0, new FileInfo(path).Length % 2880);
            using var json = JsonDocument.Parse(await RunPythonAsync(ReadBack, path));
            var root = json.RootElement;
            Assert.Equal(Rows.Length, root.GetProperty("nrows").GetInt32());
            var cols = root.GetProperty("columns").EnumerateArray().ToArray();
            Assert.Equal(Columns.Select(c => c.Name), cols.Select(c => c.GetProperty("name").GetString()));
            Assert.Equal(["K", "D", "E", "J", "I", "B", "L", "12A"], cols.Select(c => c.GetProperty("format").GetString()));
            Assert.Equal(["i8", "f8", "f4", "i4", "i2", "u1", "b1", "U12"], cols.Select(c => c.GetProperty("dtype").GetString()));
            Assert.Equal([null, "deg", "mag", null, null, null, null, null], cols.Select(c => c.GetProperty("unit").GetString()));
            Assert.Equal(long.MinValue, cols[0].GetProperty("null").GetInt64());
            Assert.Equal(int.MinValue, cols[3].GetProperty("null").GetInt64());
            Assert.Equal(JsonValueKind.Null, cols[4].GetProperty("null").ValueKind);
            Assert.Equal(255, cols[5].GetProperty("null").GetInt64());

            static object? Value(JsonElement col, int row)
            {
                var v = col.GetProperty("values")[row];
                return v.ValueKind switch
                {
                    JsonValueKind.Number => v.GetRawText(),
                    JsonValueKind.String => v.GetString(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => null,
                };
            }

            static bool Masked(JsonElement col, int row) => col.GetProperty("masked")[row].GetBoolean();

            Assert.Equal(["1", long.MaxValue.ToString(), "-42"], new[] { 0, 1, 3 }.Select(r => (string)Value(cols[0], r)!));
            Assert.Equal([false, false, true, false], Enumerable.Range(0, 4).Select(r => Masked(cols[0], r)));
            Assert.Equal(10.5, cols[1].GetProperty("values")[0].GetDouble());
            Assert.Equal(359.99999999999994, cols[1].GetProperty("values")[3].GetDouble());
            Assert.Equal("nan", Value(cols[1], 2));
            Assert.Equal(21.25, cols[2].GetProperty("values")[0].GetDouble());
            Assert.Equal("inf", Value(cols[2], 1));
            Assert.Equal(-1.5e-30f, (float)cols[2].GetProperty("values")[3].GetDouble());
            Assert.Equal("nan", Value(cols[2], 2));
            Assert.Equal([false, false, true, false], Enumerable.Range(0, 4).Select(r => Masked(cols[3], r)));
            Assert.Equal(int.MaxValue, cols[3].GetProperty("values")[1].GetInt32());
            Assert.Equal([3, short.MinValue, -1, short.MaxValue], Enumerable.Range(0, 4).Select(r => cols[4].GetProperty("values")[r].GetInt32()));
            Assert.DoesNotContain(true, Enumerable.Range(0, 4).Select(r => Masked(cols[4], r)));
            Assert.Equal([1, 0, 254], new[] { 0, 1, 3 }.Select(r => cols[5].GetProperty("values")[r].GetInt32()));
            Assert.True(Masked(cols[5], 2));
            Assert.Equal([true, false, false, true], Enumerable.Range(0, 4).Select(r => (bool)Value(cols[6], r)!));
            Assert.Equal(["M31", "a'b \"c\"", "", "twelve chars"], Enumerable.Range(0, 4).Select(r => (string)Value(cols[7], r)!));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task CompleteAsync_RowCountGivenOnNonSeekableStream_AstropyReadsAllRows()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fits-{Guid.NewGuid():N}.fits");
        try
        {
            using (var file = File.Create(path))
            using (var forwardOnly = new ForwardOnlyStream(file))
            {
                var writer = new FitsTableWriter(forwardOnly, [new FitsColumn("n", FitsColumnType.Int32)], rowCount: 1000);
                for (var i = 0; i < 1000; i++)
                {
                    await writer.WriteRowAsync([i]);
                }

                await writer.CompleteAsync();
            }

            var sum = await RunPythonAsync("import sys\nfrom astropy.io import fits\nprint(int(fits.getdata(sys.argv[1], 1)['n'].sum()))\n", path);
            Assert.Equal("499500", sum.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WriteRow_SentinelValueInNullableColumn_Throws()
    {
        var writer = new FitsTableWriter(new MemoryStream(), [new FitsColumn("n", FitsColumnType.Int32)]);
        Assert.Throws<ArgumentException>(() => writer.WriteRow(int.MinValue));
    }

    [Fact]
    public void WriteRow_WrongType_Throws()
    {
        var writer = new FitsTableWriter(new MemoryStream(), [new FitsColumn("n", FitsColumnType.Int64)]);
        Assert.Throws<ArgumentException>(() => writer.WriteRow(1));
    }

    [Fact]
    public void WriteRow_StringTooLongOrNotAscii_Throws()
    {
        var writer = new FitsTableWriter(new MemoryStream(), [new FitsColumn("s", FitsColumnType.String, StringWidth: 3)]);
        Assert.Throws<ArgumentException>(() => writer.WriteRow("abcd"));
        Assert.Throws<ArgumentException>(() => writer.WriteRow("é"));
    }

    [Fact]
    public void Complete_FewerRowsThanPromised_Throws()
    {
        var writer = new FitsTableWriter(new MemoryStream(), [new FitsColumn("n", FitsColumnType.Int32)], rowCount: 2);
        writer.WriteRow(1);
        Assert.Throws<InvalidOperationException>(writer.Complete);
    }

    private static async Task<string> RunPythonAsync(string script, string fitsPath)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(fitsPath);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "astropy read-back failed (apt-get install -y python3-astropy): " + await stderr);
        return stdout;
    }

    /// <summary>A response-body-like stream: no seeking, no length.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
