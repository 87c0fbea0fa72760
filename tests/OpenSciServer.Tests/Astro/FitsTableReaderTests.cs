using System.Diagnostics;
using System.Text;
using OpenSciServer.Astro.Fits;

namespace OpenSciServer.Tests.Astro;

public sealed class FitsTableReaderTests
{
    [Fact]
    public void ReadRow_WhatTheWriterWrote_ComesBackWithNullsAndUnits()
    {
        FitsColumn[] columns =
        [
            new("id", FitsColumnType.Int64), new("ra", FitsColumnType.Double, "deg"), new("mag", FitsColumnType.Single),
            new("n", FitsColumnType.Int32), new("q", FitsColumnType.Int16), new("b", FitsColumnType.Byte),
            new("ok", FitsColumnType.Boolean), new("name", FitsColumnType.String, StringWidth: 6),
        ];
        object?[][] rows =
        [
            [1L, 10.5, 2.25f, 7, (short)-3, (byte)9, true, "M31"],
            [null, null, null, null, null, null, null, null],
        ];
        var stream = new MemoryStream();
        var writer = new FitsTableWriter(stream, columns, rows.Length, "T");
        foreach (var row in rows)
        {
            writer.WriteRow(row);
        }

        writer.Complete();
        stream.Position = 0;

        var reader = FitsTableReader.Open(stream);
        var values = new object?[columns.Length];
        var read = new List<object?[]>();
        while (reader.ReadRow(values))
        {
            read.Add([.. values]);
        }

        Assert.Equal(["id", "ra", "mag", "n", "q", "b", "ok", "name"], reader.Columns.Select(c => c.Name));
        Assert.Equal([typeof(long), typeof(double), typeof(float), typeof(int), typeof(short), typeof(byte), typeof(bool), typeof(string)], reader.Columns.Select(c => c.ValueType));
        Assert.Equal("deg", reader.Columns[1].Unit);
        Assert.Equal("T", reader.ExtensionName);
        Assert.Equal<object?>(rows[0], read[0]);
        Assert.All(read[1], Assert.Null);
    }

    [Fact]
    public async Task ReadRow_AstropyFile_AppliesTzeroForUnsignedAndScaling()
    {
        var path = Path.Combine(Path.GetTempPath(), $"fits-{Guid.NewGuid():N}.fits");
        try
        {
            await PythonAsync("""
                import numpy as np, sys
                from astropy.io import fits
                cols = [
                    fits.Column(name='u8', format='B', array=np.array([0, 255], dtype=np.uint8)),
                    fits.Column(name='u16', format='I', bzero=32768, array=np.array([0, 65535], dtype=np.uint16)),
                    fits.Column(name='u64', format='K', bzero=9223372036854775808, array=np.array([0, 18446744073709551615], dtype=np.uint64)),
                    fits.Column(name='scaled', format='J', array=np.array([0, 3], dtype=np.int32)),
                    fits.Column(name='nulled', format='J', null=-99, array=np.array([-99, 4], dtype=np.int32), unit='ct'),
                ]
                hdu = fits.BinTableHDU.from_columns(cols)
                hdu.header['TSCAL4'] = 0.5
                hdu.header['TZERO4'] = 10
                fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2))), hdu]).writeto(sys.argv[1])
                """, path);

            await using var stream = File.OpenRead(path);
            var reader = FitsTableReader.Open(stream);
            var values = new object?[reader.Columns.Count];
            var rows = new List<object?[]>();
            while (reader.ReadRow(values))
            {
                rows.Add([.. values]);
            }

            Assert.Equal([typeof(byte), typeof(ushort), typeof(ulong), typeof(double), typeof(int)], reader.Columns.Select(c => c.ValueType));
            Assert.Equal<object?>([(byte)0, (ushort)0, 0UL, 10.0, null], rows[0]);
            Assert.Equal<object?>([(byte)255, (ushort)65535, ulong.MaxValue, 11.5, 4], rows[1]);
            Assert.Equal("ct", reader.Columns[4].Unit);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("not a fits file at all")]
    [InlineData("SIMPLE  =                    T")]
    public void Open_NotAFitsTable_IsInvalidData(string start)
    {
        var bytes = Encoding.ASCII.GetBytes(start.PadRight(2880));

        var error = Assert.Throws<InvalidDataException>(() => FitsTableReader.Open(new MemoryStream(bytes)));

        Assert.False(string.IsNullOrEmpty(error.Message));
    }

    [Fact]
    public void ReadRow_TruncatedData_IsInvalidData()
    {
        var stream = new MemoryStream();
        var writer = new FitsTableWriter(stream, [new FitsColumn("x", FitsColumnType.Int64)], 400);
        for (var i = 0; i < 400; i++)
        {
            writer.WriteRow((long)i);
        }

        writer.Complete();
        var cut = new MemoryStream(stream.ToArray()[..(2880 * 2 + 1000)]);
        var reader = FitsTableReader.Open(cut);
        var values = new object?[1];

        var error = Assert.Throws<InvalidDataException>(() =>
        {
            while (reader.ReadRow(values))
            {
            }
        });

        Assert.Contains("ends after 125", error.Message, StringComparison.Ordinal);
    }

    private static async Task PythonAsync(string script, string path)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", script, path]) { RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "astropy could not write the file: " + error);
    }
}
