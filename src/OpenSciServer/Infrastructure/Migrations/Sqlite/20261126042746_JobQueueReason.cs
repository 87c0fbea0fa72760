using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace OpenSciServer.Infrastructure.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class JobQueueReason : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "QueueReason",
                table: "compute_jobs",
                type: "TEXT",
                maxLength: 1000,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "QueueReason",
                table: "compute_jobs");
        }
    }
}
